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
from django.utils.translation import gettext_noop

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
    """One failed rule: its code, its message in the active language, and the English
    msgid with its parameters (numbers and codes) that show it in any reader's language."""

    code: str
    message: str
    msgid: str = ""
    params: dict | None = None

    def as_dict(self):
        translatable = {"msgid": self.msgid, "params": self.params or {}} if self.msgid else {}
        return {"code": self.code, "message": self.message, **translatable}


def _failure(code, msgid, **params) -> RuleFailure:
    return RuleFailure(code, _(msgid) % _shown(code, params) if params else _(msgid), msgid, params)


def _shown(code, params) -> dict:
    """The parameters as the message shows them (document codes become their names)."""
    if code == "documents":
        return {"list": ", ".join(str(DocumentType(t).label) if t in DocumentType.values else t
                                  for t in params.get("list", []))}
    return params


def failure_text(failure) -> str:
    """A stored failure (``RuleFailure.as_dict``) in the active language; a failure written
    before the msgids, or an officer's own reason, as written."""
    msgid = failure.get("msgid") if isinstance(failure, dict) else None
    if not msgid:
        return str(failure.get("message", "") if isinstance(failure, dict) else failure)
    params = failure.get("params") or {}
    try:
        return _(msgid) % _shown(failure.get("code"), params) if params else _(msgid)
    except (KeyError, TypeError, ValueError):
        return str(failure.get("message", ""))


AGE_OUTSIDE = gettext_noop("Age %(age)d is outside the program's range of %(min)d to %(max)d years.")


def evaluate_eligibility(project, on: date | None = None) -> list[RuleFailure]:
    """Every eligibility rule of ``project.program`` that ``project`` fails, in a fixed order."""
    program, person = project.program, project.beneficiary
    on = on or (project.submitted_at or timezone.now()).date()
    failures = []

    if not (person.is_woman_in_difficulty or person.has_disability):
        failures.append(_failure("category", gettext_noop(
            "The beneficiary is neither a woman in a difficult situation nor a person with a disability."
        )))
    elif person.is_woman_in_difficulty and not person.has_disability and person.gender != "F":
        failures.append(_failure("category", gettext_noop(
            "The category 'woman in a difficult situation' applies to women only."
        )))

    if person.commune.province != program.province or not person.commune.active:
        failures.append(_failure("commune", gettext_noop(
            "The beneficiary's commune is not in the province of %(province)s."
        ), province=program.province))

    age = person.age_on(on)
    if not program.min_age <= age <= program.max_age:
        failures.append(_failure("age", AGE_OUTSIDE, age=age, min=program.min_age, max=program.max_age))

    cooldown_start = on - relativedelta(years=program.support_cooldown_years)
    recently_supported = person.last_support_date is not None and person.last_support_date > cooldown_start
    funded_elsewhere = funded_since(person.pk, cooldown_start, exclude_pk=project.pk)
    if recently_supported or funded_elsewhere:
        failures.append(_failure("recent_support", gettext_noop(
            "The beneficiary received comparable support less than %(years)d years ago."
        ), years=program.support_cooldown_years))

    missing = project.missing_documents()
    if missing:
        failures.append(_failure("documents", gettext_noop("Missing documents: %(list)s."), list=list(missing)))

    if not person.consent_given:
        failures.append(_failure("consent", gettext_noop("The beneficiary's consent is not recorded.")))

    if project.requested_amount > program.project_ceiling:
        failures.append(_failure("ceiling", gettext_noop(
            "The requested amount exceeds the ceiling of %(ceiling)s MAD."
        ), ceiling=str(program.project_ceiling)))

    total = project.total_cost
    required = (total * program.contribution_share).quantize(Decimal("0.01"))
    if project.own_contribution < required:
        failures.append(_failure("contribution", gettext_noop(
            "The beneficiary's contribution is below %(share)s %% of the project cost."
        ), share=f"{program.contribution_share * 100:.0f}"))

    return failures


def age_outside_range(person, program, on) -> str | None:
    """Why ``person``'s age on ``on`` does not fit the program's range, or None."""
    age = person.age_on(on)
    if program.min_age <= age <= program.max_age:
        return None
    return _(AGE_OUTSIDE) % {"age": age, "min": program.min_age, "max": program.max_age}
