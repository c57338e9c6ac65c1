"""The session's minutes (procès-verbal): a PDF in French and Arabic generated at close,
and the members' confirmations by re-entering their password (step-up)."""

import hashlib
import json

from django.core.exceptions import ImproperlyConfigured
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _

from approvals.exceptions import NotAMember
from approvals.locks import lock_session
from approvals.models import (
    AgendaItem,
    Attendance,
    InterestDeclaration,
    MinutesConfirmation,
    SessionMinutes,
    Vote,
)
from approvals.selectors import membership
from core.exceptions import InvalidInput
from core.reasons import reason_text
from core.stepup import confirm_password
from core.transactions import service_transaction
from ledger.transitions import apply_transition, check_permission, check_transition
from twofactor.stepup import CODE_FIELD


def minutes_facts(session, items, tallies, skipped=None) -> dict:
    """Everything the minutes show, as plain values: the PDF is rendered from these alone,
    and the close compares their digest, read again under its locks, with the digest of
    the facts the PDF was rendered from (``facts_digest``)."""
    criteria = list(session.committee.program.criteria.order_by("position", "code"))
    attendance = Attendance.objects.filter(session=session).select_related("user").order_by("user__last_name", "pk")
    rows = []
    for item in items:
        tally = tallies[item.pk]
        # Only the votes the rule counted (present, not recused members).
        votes = list(Vote.objects.filter(item=item, user_id__in=tally.voters).order_by("user_id"))
        averages = []
        for criterion in criteria:
            values = [v.scores.get(criterion.code) for v in votes if criterion.code in v.scores]
            averages.append(sum(values) / len(values) if values else None)
        recused = (InterestDeclaration.objects.filter(item=item, has_conflict=True)
                   .select_related("user").order_by("user__last_name", "pk"))
        project = item.project
        rows.append({
            "item": item.pk, "reference": project.reference, "title": project.title,
            "beneficiary": str(project.beneficiary), "beneficiary_ar": project.beneficiary.full_name_ar,
            "requested_amount": project.requested_amount,
            "recused": [_person(d.user) for d in recused],
            "voters": len(tally.voters), "quorum_needed": tally.quorum_needed, "quorum_met": tally.quorum_met,
            "counts": {choice: tally.counts[choice] for choice in ("approve", "revise", "reject")},
            "averages": averages,
            "outcome": item.outcome, "approved_amount": item.approved_amount,
            "conditions": item.conditions, "reason": item.reason,
            **({"reason_code": item.reason_code, "reason_params": item.reason_params} if item.reason_code else {}),
            "not_applied": (skipped or {}).get(item.pk),
        })
    return {
        "session": {"id": session.pk, "title": session.title, "scheduled_for": session.scheduled_for,
                    "location": session.location, "committee": session.committee.name},
        "program": session.committee.program.name,
        "criteria": [{"code": c.code, "fr": c.name_fr, "ar": c.name_ar} for c in criteria],
        "attendance": [{"name": _person(a.user), "present": a.present} for a in attendance],
        "rows": rows,
    }


def _person(user) -> str:
    return user.get_full_name() or user.get_username()


def facts_digest(facts: dict) -> str:
    """SHA-256 of the facts in a canonical form (sorted keys; decimals and times as text)."""
    text = json.dumps(facts, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def render_minutes(facts: dict) -> bytes:
    """The minutes as PDF bytes from ``minutes_facts``: a French part, then an Arabic part
    (right to left). Reads nothing from the database."""
    try:
        from weasyprint import HTML
    except (ImportError, OSError) as exc:  # Pango missing on the machine
        raise ImproperlyConfigured(
            "Generating the minutes needs WeasyPrint and Pango (Debian: libpango-1.0-0, fonts-dejavu-core)."
        ) from exc
    parts = []
    for language in ("fr", "ar"):
        with translation.override(language):
            parts.append(render_to_string("approvals/minutes_part.html", _part_context(facts, language)))
    html = render_to_string("approvals/minutes.html", {"parts": parts, "title": facts["session"]["title"]})
    return HTML(string=html).write_pdf()


def _part_context(facts: dict, language: str) -> dict:
    """One language's view of the facts (names of criteria and decisions in that language)."""
    names = [criterion[language] for criterion in facts["criteria"]]
    rows = []
    for row in facts["rows"]:
        outcome = row["outcome"]
        label = AgendaItem.Outcome(outcome).label if outcome in AgendaItem.Outcome.values else outcome
        rows.append({**row, "outcome_label": str(label),
                     # A system reason in this part's language; a person's as written.
                     "reason": reason_text(row.get("reason_code"), row.get("reason_params"), row["reason"]),
                     "averages": list(zip(names, row["averages"], strict=True))})
    return {**facts, "rows": rows, "language": language}


def store_minutes(session, pdf: bytes) -> SessionMinutes:
    return SessionMinutes.objects.create(session=session, pdf=pdf, sha256=hashlib.sha256(pdf).hexdigest())


@service_transaction
def minutes_confirm(*, session_id, actor, password, second_factor=None) -> MinutesConfirmation:
    """A member confirms the closed session's minutes by re-entering their password (and
    giving their second factor when they have one: ``second_factor``, a
    ``core.stepup.SecondFactorProof``); the confirmation is a signed audit entry carrying
    the minutes' SHA-256."""
    session = lock_session(session_id)
    check_permission(actor, "approvals.vote_session")
    if membership(session, actor) is None:
        raise NotAMember()
    check_transition(session, "confirm_minutes")
    if not Attendance.objects.filter(session=session, user=actor, present=True).exists():
        raise NotAMember(_("Only members present at the session confirm its minutes."))
    confirm_password(actor, password, second_factor=second_factor, field="password", second_factor_field=CODE_FIELD)
    if MinutesConfirmation.objects.filter(session=session, user=actor).exists():
        raise InvalidInput(field_errors={"__all__": [_("You have already confirmed these minutes.")]})
    confirmation = MinutesConfirmation.objects.create(session=session, user=actor)
    apply_transition(session, actor, "confirm_minutes", payload={"minutes_sha256": session.minutes.sha256})
    return confirmation
