"""A grant program: its budget envelope and every rule that varies between programs.

What the envelope holds committed is a sum of the envelope ledger, which
``disbursements`` owns (``disbursements.selectors.committed_amount``); that app also
checks, through ``workflow.program_checks``, that an envelope is not lowered below it.
"""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from workflow import program_checks
from workflow.models.documents import DocumentType


def default_required_documents():
    return [DocumentType.CIN_COPY, DocumentType.RESIDENCE_CERTIFICATE, DocumentType.BUSINESS_PLAN]


def default_followup_offsets():
    return [3, 6, 12, 24]


class Program(models.Model):
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

    def clean(self):
        errors: dict[str, list] = {}
        offsets = self.followup_offsets
        if not isinstance(offsets, list) or not all(
            isinstance(m, int) and 0 < m <= 120 for m in offsets
        ):
            errors["followup_offsets"] = [_("Give a list of months between 1 and 120, e.g. [3, 6, 12, 24].")]
        known = set(DocumentType.values)
        if not isinstance(self.required_documents, list) or not set(self.required_documents) <= known:
            errors["required_documents"] = [_("Unknown document type in the list.")]
        # The checks of the apps that own what a program's settings must respect.
        for field, messages in program_checks.problems(self).items():
            errors.setdefault(field, []).extend(messages)
        if errors:
            raise ValidationError(errors)
