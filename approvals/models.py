"""Committee review: committees, sessions, agenda, attendance, conflicts of interest,
votes, decisions and signed minutes.

A session's every write — agenda changes, attendance, declarations, votes, decisions,
opening, closing, minutes confirmations — is an audited transition of the session's
state machine (most of them leave the state as it is), so the session's audit chain
is the complete, signed story of the meeting.
"""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from core.reasons import reason_text
from ledger.models import AuditedModel


class Committee(models.Model):
    program = models.ForeignKey(
        "workflow.Program", on_delete=models.PROTECT, related_name="committees", verbose_name=_("program")
    )
    name = models.CharField(_("name"), max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["program", "name"]
        verbose_name = _("committee")
        verbose_name_plural = _("committees")

    def __str__(self):
        return self.name

    def active_members(self):
        """The seats held today."""
        return self.members.seated_on(timezone.localdate())


def seated_on_q(day, prefix: str = "") -> Q:
    """The seats held on ``day``: not withdrawn (``is_active``) and within their dates
    (no ``active_from`` means from the start, no ``active_to`` means with no end).
    ``prefix`` reaches the seats through a relation (``"user__committee_seats__"``)."""
    return (
        Q(**{f"{prefix}is_active": True})
        & (Q(**{f"{prefix}active_from__isnull": True}) | Q(**{f"{prefix}active_from__lte": day}))
        & (Q(**{f"{prefix}active_to__isnull": True}) | Q(**{f"{prefix}active_to__gte": day}))
    )


class CommitteeMemberQuerySet(models.QuerySet):
    def seated_on(self, day):
        return self.filter(seated_on_q(day))


class CommitteeMember(models.Model):
    """A seat on a committee, held from ``active_from`` to ``active_to`` (both days
    included; either may be open). Whether a member counts for a session — quorum,
    votes, the chair's acts — is read on the session's day (``CommitteeSession.day``).
    ``is_active`` withdraws a seat altogether."""

    class Role(models.TextChoices):
        MEMBER = "member", _("member")
        CHAIR = "chair", _("chair")

    committee = models.ForeignKey(Committee, on_delete=models.PROTECT, related_name="members")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="committee_seats")
    role = models.CharField(_("role"), max_length=10, choices=Role.choices, default=Role.MEMBER)
    is_active = models.BooleanField(_("active"), default=True)
    active_from = models.DateField(_("active from"), null=True, blank=True)
    active_to = models.DateField(_("active until"), null=True, blank=True)

    objects = CommitteeMemberQuerySet.as_manager()

    class Meta:
        ordering = ["committee", "-role", "user__last_name"]
        verbose_name = _("committee member")
        verbose_name_plural = _("committee members")
        constraints = [
            models.UniqueConstraint(fields=["committee", "user"], name="committee_member_once"),
            # A backstop: one open-ended chair. The services refuse any two chairs whose
            # dates overlap (committee_has_chair).
            models.UniqueConstraint(
                fields=["committee"], condition=Q(role="chair", is_active=True, active_to__isnull=True),
                name="committee_one_chair",
            ),
            models.CheckConstraint(
                condition=Q(active_from__isnull=True) | Q(active_to__isnull=True)
                | Q(active_to__gte=F("active_from")),
                name="committee_member_dates_in_order",
            ),
        ]

    def __str__(self):
        return f"{self.user} ({self.get_role_display()})"

    def holds_on(self, day) -> bool:
        return (self.is_active and (self.active_from is None or self.active_from <= day)
                and (self.active_to is None or self.active_to >= day))


class ScoringCriterion(models.Model):
    """A criterion members score from 0 to 5, configured per program."""

    program = models.ForeignKey("workflow.Program", on_delete=models.PROTECT, related_name="criteria")
    code = models.SlugField(_("code"), max_length=40)
    name_fr = models.CharField(_("name (French)"), max_length=120)
    name_ar = models.CharField(_("name (Arabic)"), max_length=120)
    name_en = models.CharField(_("name (English)"), max_length=120)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["program", "position", "code"]
        verbose_name = _("scoring criterion")
        verbose_name_plural = _("scoring criteria")
        constraints = [models.UniqueConstraint(fields=["program", "code"], name="criterion_code_per_program")]

    def __str__(self):
        return self.name

    @property
    def name(self):
        lang = (get_language() or "")[:2]
        return {"ar": self.name_ar, "en": self.name_en}.get(lang, self.name_fr)


class SessionState(models.TextChoices):
    PLANNED = "planned", _("planned")
    OPEN = "open", _("open")
    CLOSED = "closed", _("closed")


PLANNED, OPEN, CLOSED = SessionState.PLANNED, SessionState.OPEN, SessionState.CLOSED


class CommitteeSession(ConcurrentTransitionMixin, AuditedModel):
    committee = models.ForeignKey(Committee, on_delete=models.PROTECT, related_name="sessions")
    title = models.CharField(_("title"), max_length=200)
    scheduled_for = models.DateTimeField(_("date and time"))
    location = models.CharField(_("place"), max_length=200, blank=True)
    state = FSMField(_("state"), default=PLANNED, choices=SessionState.choices, protected=True, db_index=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-scheduled_for"]
        verbose_name = _("committee session")
        verbose_name_plural = _("committee sessions")
        permissions = [
            ("manage_session", "Can build a session's agenda and record attendance"),
            ("chair_session", "Can open and close a session and confirm decisions"),
            ("vote_session", "Can declare interests and vote in a session"),
        ]

    def __str__(self):
        return f"{self.title} ({self.scheduled_for:%Y-%m-%d})"

    @property
    def program(self):
        return self.committee.program

    @property
    def is_planned(self) -> bool:
        return self.state == PLANNED

    @property
    def is_open(self) -> bool:
        """Members present vote; the chair confirms decisions and closes."""
        return self.state == OPEN

    @property
    def is_closed(self) -> bool:
        return self.state == CLOSED

    @property
    def day(self):
        """The session's day, on which its committee's seats are read."""
        return timezone.localdate(self.scheduled_for)

    @property
    def held_at(self):
        """When the session was actually held: its opening, or its planned time until it opens."""
        return self.opened_at or self.scheduled_for

    # --- Lifecycle: planned → open → closed -----------------------------------------
    @transition(field=state, source=PLANNED, target=OPEN, permission="approvals.chair_session")
    def open(self):
        pass

    @transition(field=state, source=OPEN, target=CLOSED, permission="approvals.chair_session")
    def close(self):
        pass

    # --- Audited acts that keep the state (target=None: checked, left as it was) -----
    @transition(field=state, source=PLANNED, target=None, permission="approvals.manage_session")
    def add_item(self):
        pass

    @transition(field=state, source=PLANNED, target=None, permission="approvals.manage_session")
    def remove_item(self):
        pass

    @transition(field=state, source=[PLANNED, OPEN], target=None, permission="approvals.manage_session")
    def record_attendance(self):
        pass

    @transition(field=state, source=[PLANNED, OPEN], target=None, permission="approvals.vote_session")
    def declare_interest(self):
        pass

    @transition(field=state, source=OPEN, target=None, permission="approvals.vote_session")
    def cast_vote(self):
        pass

    @transition(field=state, source=OPEN, target=None, permission="approvals.chair_session")
    def confirm_decision(self):
        pass

    # A present member without conflict confirms the decision on a file the chair is
    # recused from (presiding for that file).
    @transition(field=state, source=OPEN, target=None, permission="approvals.vote_session")
    def confirm_decision_acting(self):
        pass

    @transition(field=state, source=CLOSED, target=None, permission="approvals.vote_session")
    def confirm_minutes(self):
        pass


class AgendaItem(models.Model):
    class Outcome(models.TextChoices):
        APPROVE = "approve", _("approve")
        REVISE = "revise", _("request revision")
        REJECT = "reject", _("reject")
        DEFER = "defer", _("defer (no quorum or tie)")

    session = models.ForeignKey(CommitteeSession, on_delete=models.PROTECT, related_name="items")
    project = models.ForeignKey("workflow.GrantProject", on_delete=models.PROTECT, related_name="agenda_items")
    position = models.PositiveSmallIntegerField(default=0)
    removed = models.BooleanField(default=False)
    # The confirmed decision.
    outcome = models.CharField(_("decision"), max_length=10, choices=Outcome.choices, blank=True)
    approved_amount = models.DecimalField(_("approved amount (MAD)"), max_digits=12, decimal_places=2,
                                          null=True, blank=True)
    conditions = models.TextField(_("conditions"), blank=True)
    reason = models.TextField(_("reason"), blank=True)
    # A reason the system wrote (no quorum, a tie, no majority): its code, translated
    # when shown (``core.reasons``); ``reason`` then holds its English text. Empty for a
    # person's reason and for items confirmed before the codes.
    reason_code = models.CharField(_("reason code"), max_length=40, blank=True)
    reason_params = models.JSONField(_("reason parameters"), default=dict, blank=True)
    confirmed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                     null=True, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    # The tally the chair saw when confirming; the close refuses if it has changed since.
    confirmed_tally = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["session", "position", "id"]
        verbose_name = _("agenda item")
        verbose_name_plural = _("agenda items")
        constraints = [
            models.UniqueConstraint(fields=["session", "project"], condition=Q(removed=False),
                                    name="agenda_project_once_per_session"),
            models.CheckConstraint(condition=Q(approved_amount__isnull=True) | Q(approved_amount__gt=0),
                                   name="agenda_amount_positive"),
        ]

    def __str__(self):
        return f"{self.session} — {self.project}"

    @property
    def shown_reason(self) -> str:
        """The reason in the active language: a system reason's code translated, a
        person's reason as written."""
        return reason_text(self.reason_code, self.reason_params, self.reason)


class Attendance(models.Model):
    session = models.ForeignKey(CommitteeSession, on_delete=models.PROTECT, related_name="attendance")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    present = models.BooleanField(_("present"), default=True)
    recorded_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("attendance")
        constraints = [models.UniqueConstraint(fields=["session", "user"], name="attendance_once")]

    def __str__(self):
        return f"{self.user} {'present' if self.present else 'absent'}"


class InterestDeclaration(models.Model):
    item = models.ForeignKey(AgendaItem, on_delete=models.PROTECT, related_name="declarations")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    has_conflict = models.BooleanField(_("conflict of interest"))
    note = models.CharField(_("note"), max_length=500, blank=True)
    declared_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("declaration of interest")
        constraints = [models.UniqueConstraint(fields=["item", "user"], name="declaration_once")]

    def __str__(self):
        return f"{self.user}: {'conflict' if self.has_conflict else 'none'}"


class Vote(models.Model):
    class Choice(models.TextChoices):
        APPROVE = "approve", _("approve")
        REVISE = "revise", _("request revision")
        REJECT = "reject", _("reject")

    item = models.ForeignKey(AgendaItem, on_delete=models.PROTECT, related_name="votes")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    choice = models.CharField(_("vote"), max_length=10, choices=Choice.choices)
    scores = models.JSONField(_("scores"), default=dict)
    comment = models.TextField(_("comment"), blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("vote")
        constraints = [models.UniqueConstraint(fields=["item", "user"], name="vote_once_per_member")]

    def __str__(self):
        return f"{self.user}: {self.choice}"


class SessionMinutes(models.Model):
    """The minutes (procès-verbal) PDF generated at close; its SHA-256 is in the session's
    closing audit entry. Written once."""

    session = models.OneToOneField(CommitteeSession, on_delete=models.PROTECT, related_name="minutes")
    pdf = models.BinaryField()
    sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("minutes")
        verbose_name_plural = _("minutes")

    def __str__(self):
        return f"minutes of {self.session}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ValueError("minutes are written once")
        super().save(*args, **kwargs)


class MinutesConfirmation(models.Model):
    session = models.ForeignKey(CommitteeSession, on_delete=models.PROTECT, related_name="confirmations")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    confirmed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("minutes confirmation")
        constraints = [models.UniqueConstraint(fields=["session", "user"], name="minutes_confirmed_once")]

    def __str__(self):
        return f"{self.user} confirmed {self.session}"
