"""Eligibility rules of a program, evaluated all at once.

Screening must tell the association every reason a file fails, not just the first,
so ``evaluate_eligibility`` returns the complete list of failed rules. ``funded_since``
(the beneficiary's support within the cooldown) is also what the approval checks again,
under the program lock (``beneficiary_not_already_funded``).
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from dateutil.relativedelta import relativedelta
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from ledger.models import AuditEntry, entity_type_of
from workflow.models.documents import DocumentType
from workflow.models.project import COMMITTED_STATES, GrantProject, ProjectState


def funded_since(beneficiary_id, since: date, *, exclude_pk=None) -> bool:
    """Whether the beneficiary has another project approved after ``since`` that still
    holds its approval (a committed state, or suspended from one). Measured from the
    approval — the signed ``decide_approve`` entry of the project's chain, written in
    the transaction that commits the grant against the envelope — not from when the
    file was created: support starts when the committee grants it."""
    holding = Q(state__in=COMMITTED_STATES) | Q(
        state=ProjectState.SUSPENDED, state_before_suspension__in=COMMITTED_STATES)
    project_ids = list(
        GrantProject.objects.filter(holding, beneficiary_id=beneficiary_id).exclude(pk=exclude_pk)
        .values_list("pk", flat=True)
    )
    if not project_ids:
        return False
    return AuditEntry.objects.filter(
        entity_type=entity_type_of(GrantProject), entity_id__in=[str(pk) for pk in project_ids],
        transition="decide_approve", created_at__date__gt=since,
    ).exists()


@dataclass(frozen=True)
class RuleFailure:
    code: str
    message: str

    def as_dict(self):
        return {"code": self.code, "message": self.message}


def evaluate_eligibility(project, on: date | None = None) -> list[RuleFailure]:
    """Every eligibility rule of ``project.program`` that ``project`` fails, in a fixed order."""
    program, person = project.program, project.beneficiary
    on = on or (project.submitted_at or timezone.now()).date()
    failures = []

    if not (person.is_woman_in_difficulty or person.has_disability):
        failures.append(RuleFailure("category", _(
            "The beneficiary is neither a woman in a difficult situation nor a person with a disability."
        )))
    elif person.is_woman_in_difficulty and not person.has_disability and person.gender != "F":
        failures.append(RuleFailure("category", _(
            "The category 'woman in a difficult situation' applies to women only."
        )))

    if person.commune.province != program.province or not person.commune.active:
        failures.append(RuleFailure("commune", _(
            "The beneficiary's commune is not in the province of %(province)s."
        ) % {"province": program.province}))

    outside = age_outside_range(person, program, on)
    if outside:
        failures.append(RuleFailure("age", outside))

    cooldown_start = on - relativedelta(years=program.support_cooldown_years)
    recently_supported = person.last_support_date is not None and person.last_support_date > cooldown_start
    funded_elsewhere = funded_since(person.pk, cooldown_start, exclude_pk=project.pk)
    if recently_supported or funded_elsewhere:
        failures.append(RuleFailure("recent_support", _(
            "The beneficiary received comparable support less than %(years)d years ago."
        ) % {"years": program.support_cooldown_years}))

    missing = project.missing_documents()
    if missing:
        labels = ", ".join(str(DocumentType(t).label) for t in missing)
        failures.append(RuleFailure("documents", _("Missing documents: %(list)s.") % {"list": labels}))

    if not person.consent_given:
        failures.append(RuleFailure("consent", _("The beneficiary's consent is not recorded.")))

    if project.requested_amount > program.project_ceiling:
        failures.append(RuleFailure("ceiling", _(
            "The requested amount exceeds the ceiling of %(ceiling)s MAD."
        ) % {"ceiling": program.project_ceiling}))

    total = project.total_cost
    required = (total * program.contribution_share).quantize(Decimal("0.01"))
    if project.own_contribution < required:
        failures.append(RuleFailure("contribution", _(
            "The beneficiary's contribution is below %(share)s %% of the project cost."
        ) % {"share": f"{program.contribution_share * 100:.0f}"}))

    return failures


def age_outside_range(person, program, on) -> str | None:
    """Why ``person``'s age on ``on`` does not fit the program's range, or None."""
    age = person.age_on(on)
    if program.min_age <= age <= program.max_age:
        return None
    return _("Age %(age)d is outside the program's range of %(min)d to %(max)d years.") % {
        "age": age, "min": program.min_age, "max": program.max_age}
