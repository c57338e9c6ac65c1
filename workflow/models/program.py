"""A grant program: its budget envelope and every rule that varies between programs.

What the envelope holds committed is a sum of the envelope ledger, which
``disbursements`` owns (``disbursements.selectors.committed_amount``); that app also
checks, through ``workflow.program_checks``, that an envelope is not lowered below it.

A program's settings are changed only by ``workflow.services.programs``: each change is
a signed entry of the program's own audit chain (``create``, then ``configure``, which
records the fields changed with their values before and after). A program created
before its changes were audited has no chain until its first change
(``ledger.machines.register(..., chain_may_start_later=True)``).
"""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from ledger.models import AuditedModel
from workflow import program_checks
from workflow.models.documents import DocumentType


def default_required_documents():
    return [DocumentType.CIN_COPY, DocumentType.RESIDENCE_CERTIFICATE, DocumentType.BUSINESS_PLAN]


def default_followup_offsets():
    return [3, 6, 12, 24]


# The settings the lifecycle reads, in the order the pages show them; changed only
# through ``workflow.services.programs``.
SETTING_FIELDS = (
    "name", "year", "province", "envelope", "project_ceiling", "contribution_share",
    "min_age", "max_age", "support_cooldown_years", "required_documents", "training_threshold",
    "followup_offsets", "quorum_percent", "majority_rule", "is_active",
)


class ProgramStatus(models.TextChoices):
    IN_FORCE = "in_force", _("in force")


class Program(ConcurrentTransitionMixin, AuditedModel):
    class MajorityRule(models.TextChoices):
        VOTES_CAST = "votes_cast", _("simple majority of votes cast")
        MEMBERS_PRESENT = "members_present", _("majority of members present")

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=200)
    year = models.PositiveSmallIntegerField(
        _("year"), validators=[MinValueValidator(2000), MaxValueValidator(2100)]
    )
    province = models.CharField(_("province"), max_length=60, default="Nador")
    currency = models.CharField(_("currency"), max_length=3, default="MAD", editable=False)
    envelope = models.DecimalField(_("budget envelope (MAD)"), max_digits=14, decimal_places=2)
    project_ceiling = models.DecimalField(
        _("funding ceiling per project (MAD)"), max_digits=12, decimal_places=2
    )
    contribution_share = models.DecimalField(
        _("minimum beneficiary contribution (share of project cost)"),
        max_digits=4,
        decimal_places=3,
        default=Decimal("0.300"),
        # xgettext:no-python-format
        help_text=_("0.300 means the beneficiary brings at least 30 % of the total cost."),
    )
    # Eligibility rules.
    min_age = models.PositiveSmallIntegerField(_("minimum age"), default=18)
    max_age = models.PositiveSmallIntegerField(_("maximum age"), default=60)
    support_cooldown_years = models.PositiveSmallIntegerField(
        _("years since a previous comparable support"), default=2
    )
    required_documents = models.JSONField(
        _("required documents"), default=default_required_documents
    )
    # Training, follow-up and committee rules.
    training_threshold = models.PositiveSmallIntegerField(
        _("attendance threshold (%)"),
        default=80,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
    )
    followup_offsets = models.JSONField(
        _("follow-up visits (months after launch)"), default=default_followup_offsets
    )
    quorum_percent = models.PositiveSmallIntegerField(
        # xgettext:no-python-format
        _("quorum (% of the committee's members, recused members not counted)"),
        default=50,
        validators=[MinValueValidator(1), MaxValueValidator(100)],
    )
    majority_rule = models.CharField(
        _("majority rule"), max_length=20, choices=MajorityRule.choices,
        default=MajorityRule.VOTES_CAST,
    )
    is_active = models.BooleanField(_("open for applications"), default=True)
    # The state the audit chain follows. Whether the program takes applications is
    # ``is_active``, a setting like the others. Not ``protected``: programs are still
    # validated with ``full_clean`` outside the services (the demo seed), which assigns
    # every field; the one status there is leaves nothing to protect yet.
    status = FSMField(_("status"), default=ProgramStatus.IN_FORCE, choices=ProgramStatus.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-year", "name"]
        verbose_name = _("program")
        verbose_name_plural = _("programs")
        constraints = [
            models.CheckConstraint(condition=Q(envelope__gt=0), name="program_envelope_positive"),
            models.CheckConstraint(
                condition=Q(project_ceiling__gt=0) & Q(project_ceiling__lte=models.F("envelope")),
                name="program_ceiling_within_envelope",
            ),
            models.CheckConstraint(
                condition=Q(contribution_share__gte=0) & Q(contribution_share__lt=1),
                name="program_contribution_share_range",
            ),
            models.CheckConstraint(
                condition=Q(min_age__lte=models.F("max_age")), name="program_age_range"
            ),
        ]

    def __str__(self):
        return f"{self.name} ({self.year})"

    # --- Audited acts (target=None: the status stays as it was) ----------------------
    @transition(field=status, source=ProgramStatus.IN_FORCE, target=None, permission="workflow.change_program")
    def configure(self):
        pass

    def clean(self):
        errors = self.rule_problems()
        # The checks of the apps that own what a program's settings must respect.
        for field, messages in program_checks.problems(self).items():
            errors.setdefault(field, []).extend(messages)
        if errors:
            raise ValidationError(errors)

    def rule_problems(self) -> dict[str, list]:
        """What workflow's own rules find wrong with the settings, by field, in words
        (the database constraints say the same, for the rows no service wrote)."""
        errors: dict[str, list] = {}
        offsets = self.followup_offsets
        if not isinstance(offsets, list) or not all(
            isinstance(m, int) and not isinstance(m, bool) and 0 < m <= 120 for m in offsets
        ):
            errors["followup_offsets"] = [_("Give a list of months between 1 and 120, e.g. [3, 6, 12, 24].")]
        known = set(DocumentType.values)
        if not isinstance(self.required_documents, list) or not set(self.required_documents) <= known:
            errors["required_documents"] = [_("Unknown document type in the list.")]
        if self.envelope is not None and self.envelope <= 0:
            errors["envelope"] = [_("The envelope must be greater than zero.")]
        if self.project_ceiling is not None and self.project_ceiling <= 0:
            errors["project_ceiling"] = [_("The ceiling must be greater than zero.")]
        elif None not in (self.envelope, self.project_ceiling) and self.project_ceiling > self.envelope:
            errors["project_ceiling"] = [_("The ceiling per project cannot exceed the envelope.")]
        if self.contribution_share is not None and not 0 <= self.contribution_share < 1:
            # xgettext:no-python-format
            errors["contribution_share"] = [_("The contribution share is at least 0 % and less than 100 %.")]
        if None not in (self.min_age, self.max_age) and self.min_age > self.max_age:
            errors["max_age"] = [_("The maximum age cannot be below the minimum age.")]
        return errors
