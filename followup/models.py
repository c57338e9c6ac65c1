"""Post-launch follow-up: the plan of visits, the mentor's visit reports and the
equipment recovered when a project is abandoned.

A ``FollowUpVisit`` is a small audited state machine (planned → reported, or
planned → cancelled when the project closes before the visit took place). Its
transitions only guard and set state; the services in ``followup.services``
lock, check permissions, write the ledger entry and save.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django_fsm import FSMField, transition

from ledger.models import AuditedModel


class FollowUpPlan(models.Model):
    """The visits planned at launch: one per program offset, counted from the launch date."""

    project = models.OneToOneField(
        "workflow.GrantProject", on_delete=models.PROTECT, related_name="followup_plan",
        verbose_name=_("project"),
    )
    launched_on = models.DateField(_("launch date"))
    offsets = models.JSONField(_("visits (months after launch)"), default=list)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    # The report of the plan's latest reported visit (the highest reported sequence), kept
    # by ``followup.services.visit_report`` in the report's transaction: the dashboard
    # reads each file's latest report through it instead of searching all the visits.
    latest_report = models.OneToOneField(
        "VisitReport", on_delete=models.PROTECT, related_name="latest_of_plan", null=True, blank=True,
        editable=False, verbose_name=_("latest visit report"),
    )
    # Copied from that report with it: the dashboard's at-risk list walks these in order.
    latest_at_risk = models.BooleanField(_("at risk at the latest visit"), default=False, editable=False)
    latest_visited_on = models.DateField(_("date of the latest visit"), null=True, blank=True, editable=False)

    class Meta:
        db_table = "workflow_followupplan"  # the table it had before the app split
        ordering = ["-launched_on", "-pk"]
        indexes = [
            # The dashboard's first projects at risk, most recently visited first
            # (reporting.selectors.at_risk_first): read backwards, the first rows only.
            models.Index(fields=["latest_visited_on", "latest_report"], condition=Q(latest_at_risk=True),
                         name="plan_latest_at_risk"),
        ]
        verbose_name = _("follow-up plan")
        verbose_name_plural = _("follow-up plans")

    def __str__(self):
        return f"{self.project_id}: {self.offsets}"

    @classmethod
    def refill_latest_reports(cls, plans=None) -> int:
        """Point ``plans`` (all by default) at the report of their project's highest
        reported visit, in one UPDATE (what migration 0003 did): for rows written in
        bulk without ``visit_report``, such as benchmarks' fixtures."""
        latest = (VisitReport.objects.filter(visit__project_id=models.OuterRef("project_id"),
                                             visit__state=VisitState.REPORTED)
                  .order_by("-visit__sequence"))
        plans = cls.objects.all() if plans is None else plans
        count = plans.update(latest_report=models.Subquery(latest.values("pk")[:1]),
                             latest_visited_on=models.Subquery(latest.values("visited_on")[:1]))
        # Then the flag, from the report now pointed at (no JSON comparison in a subquery).
        plans.update(latest_at_risk=False)
        plans.filter(latest_report__isnull=False).exclude(latest_report__risk_reasons=[]).update(latest_at_risk=True)
        return count


class VisitState(models.TextChoices):
    PLANNED = "planned", _("planned")
    REPORTED = "reported", _("reported")
    CANCELLED = "cancelled", _("cancelled")


class FollowUpVisit(AuditedModel):
    # Its chains were started when visits lived in the workflow app.
    ledger_entity_type = "workflow.followupvisit"

    plan = models.ForeignKey(
        FollowUpPlan, on_delete=models.PROTECT, related_name="visits", verbose_name=_("plan"),
    )
    project = models.ForeignKey(
        "workflow.GrantProject", on_delete=models.PROTECT, related_name="followup_visits",
        verbose_name=_("project"),
    )
    sequence = models.PositiveSmallIntegerField(_("visit number"))
    offset_months = models.PositiveSmallIntegerField(_("months after launch"))
    due_on = models.DateField(_("due on"), db_index=True)
    mentor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="followup_visits",
        null=True, blank=True, verbose_name=_("mentor"),
    )
    state = FSMField(
        _("state"), default=VisitState.PLANNED, choices=VisitState.choices, protected=True, db_index=True,
    )
    reported_at = models.DateTimeField(_("reported at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        db_table = "workflow_followupvisit"  # the table it had before the app split
        ordering = ["due_on", "project", "sequence"]
        verbose_name = _("follow-up visit")
        verbose_name_plural = _("follow-up visits")
        permissions = [
            ("report_visit", "Can report a follow-up visit assigned to them"),
            ("assign_mentor", "Can assign a project's mentor"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["project", "sequence"], name="followupvisit_once_per_sequence"),
            models.CheckConstraint(condition=Q(sequence__gte=1), name="followupvisit_sequence_positive"),
            models.CheckConstraint(
                condition=Q(state="reported", reported_at__isnull=False)
                | (~Q(state="reported") & Q(reported_at__isnull=True)),
                name="followupvisit_reported_at_iff_reported",
            ),
        ]
        indexes = [
            models.Index(fields=["mentor", "state", "due_on"]),
            # The visit list's keysets (core.pagination): by due date, and the latest reports.
            models.Index(fields=["due_on", "project", "sequence", "id"], name="visit_list_due"),
            models.Index(fields=["mentor", "due_on", "project", "sequence", "id"], name="visit_list_mentor_due"),
            models.Index(fields=["reported_at", "id"], name="visit_list_reported"),
        ]

    def __str__(self):
        return f"{self.project_id} #{self.sequence} ({self.due_on:%Y-%m-%d})"

    @property
    def is_reported(self):
        return self.state == VisitState.REPORTED

    @property
    def is_planned(self):
        return self.state == VisitState.PLANNED

    def reportable_by(self, user) -> bool:
        """``user`` may report this visit now: it is planned, theirs, and the project is
        running (a suspended or closed project's visits wait or are cancelled)."""
        from workflow.models import ProjectState

        return self.is_planned and self.mentor_id == user.pk and self.project.state == ProjectState.LAUNCHED

    @transition(field=state, source=VisitState.PLANNED, target=VisitState.REPORTED,
                permission="followup.report_visit")
    def report_visit(self):
        pass

    @transition(field=state, source=VisitState.PLANNED, target=VisitState.CANCELLED,
                permission="workflow.close_project")
    def cancel(self):
        pass


class LegalStatus(models.TextChoices):
    NONE = "none", _("not registered")
    AUTO_ENTREPRENEUR = "auto_entrepreneur", _("auto-entrepreneur")
    COMMERCE_REGISTER = "commerce_register", _("trade register (RC)")
    COOPERATIVE = "cooperative", _("cooperative")
    OTHER = "other", _("other")


class SalesChannel(models.TextChoices):
    HOME = "home", _("from home / neighbourhood")
    SHOP = "shop", _("own shop or workshop")
    SOUK = "souk", _("weekly market (souk)")
    RETAILERS = "retailers", _("shops and retailers")
    COOPERATIVE = "cooperative", _("through a cooperative")
    SOCIAL_MEDIA = "social_media", _("social media / online")
    FAIRS = "fairs", _("fairs and exhibitions")
    OTHER = "other", _("other")


class IncomeControl(models.TextChoices):
    BENEFICIARY = "beneficiary", _("the beneficiary")
    SHARED = "shared", _("shared with the household")
    OTHER = "other", _("someone else")


class Recommendation(models.TextChoices):
    CONTINUE = "continue", _("continue as planned")
    REINFORCE = "reinforce", _("reinforce support")
    AT_RISK = "at_risk", _("at risk")


class RiskReason(models.TextChoices):
    ACTIVITY_STOPPED = "activity_stopped", _("the activity has stopped")
    EQUIPMENT_MISSING = "equipment_missing", _("equipment is missing")
    REVENUE_FALLING = "revenue_falling", _("revenue fell since the previous visit")
    MENTOR_AT_RISK = "mentor_at_risk", _("the mentor recommends treating it as at risk")


def visit_attachment_upload_to(report, filename):
    return f"followup/{report.visit.project_id}/{report.attachment_sha256[:16]}-{filename}"


class VisitReport(models.Model):
    """What the mentor found at one visit (DOMAIN.md's follow-up indicators)."""

    visit = models.OneToOneField(
        FollowUpVisit, on_delete=models.PROTECT, related_name="report", verbose_name=_("visit"),
    )
    visited_on = models.DateField(_("date of the visit"))
    activity_running = models.BooleanField(_("the activity is running"))
    stopped_reason = models.TextField(_("why the activity is not running"), blank=True)
    monthly_revenue = models.DecimalField(_("monthly revenue (MAD)"), max_digits=12, decimal_places=2)
    # A loss is a negative profit.
    monthly_profit = models.DecimalField(_("monthly profit (MAD)"), max_digits=12, decimal_places=2)
    jobs_created = models.PositiveSmallIntegerField(_("jobs created (besides the beneficiary)"), default=0)
    equipment_present = models.BooleanField(_("the equipment is present"))
    equipment_in_use = models.BooleanField(_("the equipment is in use"))
    legal_status = models.CharField(_("legal registration"), max_length=30, choices=LegalStatus.choices)
    sales_channels = models.JSONField(_("sales channels"), default=list)
    income_control = models.CharField(
        _("who controls the income"), max_length=20, choices=IncomeControl.choices,
        default=IncomeControl.BENEFICIARY,
    )
    debts = models.DecimalField(_("outstanding debts (MAD)"), max_digits=12, decimal_places=2, default=0)
    difficulties = models.TextField(_("difficulties"), blank=True)
    recommendation = models.CharField(_("recommendation"), max_length=20, choices=Recommendation.choices)
    attachment = models.FileField(_("photo or document"), upload_to=visit_attachment_upload_to, blank=True)
    attachment_name = models.CharField(_("file name"), max_length=255, blank=True)
    attachment_sha256 = models.CharField(_("SHA-256"), max_length=64, blank=True)
    risk_reasons = models.JSONField(_("risk reasons"), default=list, blank=True)
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("reported by"),
    )
    reported_at = models.DateTimeField(_("reported at"))

    class Meta:
        db_table = "workflow_visitreport"  # the table it had before the app split
        ordering = ["-visited_on", "-pk"]
        verbose_name = _("visit report")
        verbose_name_plural = _("visit reports")
        constraints = [
            models.CheckConstraint(condition=Q(monthly_revenue__gte=0), name="visitreport_revenue_non_negative"),
            models.CheckConstraint(condition=Q(debts__gte=0), name="visitreport_debts_non_negative"),
            models.CheckConstraint(
                condition=Q(equipment_in_use=False) | Q(equipment_present=True),
                name="visitreport_in_use_needs_present",
            ),
        ]

    def __str__(self):
        return f"{self.visit} — {self.visited_on:%Y-%m-%d}"

    @property
    def is_at_risk(self):
        return bool(self.risk_reasons)

    def risk_reason_labels(self):
        return [str(RiskReason(r).label) if r in RiskReason.values else r for r in self.risk_reasons]

    def sales_channel_labels(self):
        return [str(SalesChannel(c).label) if c in SalesChannel.values else c for c in self.sales_channels]


class EquipmentRecovery(models.Model):
    """Equipment taken back when an abandoned project is closed."""

    project = models.OneToOneField(
        "workflow.GrantProject", on_delete=models.PROTECT, related_name="equipment_recovery",
        verbose_name=_("project"),
    )
    items = models.TextField(_("recovered items"))
    value = models.DecimalField(_("value recovered (MAD)"), max_digits=12, decimal_places=2)
    note = models.TextField(_("note"), blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("recorded by"),
    )
    recorded_at = models.DateTimeField(_("recorded at"))

    class Meta:
        db_table = "workflow_equipmentrecovery"  # the table it had before the app split
        verbose_name = _("equipment recovery")
        verbose_name_plural = _("equipment recoveries")
        constraints = [
            models.CheckConstraint(condition=Q(value__gte=0), name="equipmentrecovery_value_non_negative"),
        ]

    def __str__(self):
        return f"{self.project_id}: {self.value} MAD"
