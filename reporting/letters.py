"""The decision letter to the beneficiary: the committee's decision on her file, as a
PDF in Arabic (right to left) or French — each wholly in its language, place names
included (``workflow.places``); the beneficiary's own language
(``Beneficiary.document_language``) is the one offered first.

The decision is read from the project's audit chain — the last ``decide_approve``,
``decide_revise`` or ``decide_reject`` entry, whose payload carries the amount, the
conditions or the reason and the committee session it came from — so the letter says
exactly what was signed. Made on demand, stored nowhere, writes nothing.
"""

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ImproperlyConfigured
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from core.exceptions import InvalidInput, TransitionNotAllowed
from core.money import format_mad
from ledger.models import AuditEntry
from workflow.places import place_names

LANGUAGES = ("ar", "fr")
DECISION_TRANSITIONS = {"decide_approve": "approve", "decide_revise": "revise", "decide_reject": "reject"}
_SESSION_REF = re.compile(r"^session:(\d+)/item:(\d+)$")


@dataclass
class Decision:
    outcome: str  # approve / revise / reject
    decided_on: date
    amount: Decimal | None
    conditions: str
    reason: str
    session: object | None  # approvals.CommitteeSession, when the decision came from one


def latest_decision(project) -> Decision:
    """The committee's last decision on ``project``; ``TransitionNotAllowed`` (code
    ``no_decision``) when the committee has not decided on it."""
    entry = (
        AuditEntry.objects.for_entity(project).filter(transition__in=DECISION_TRANSITIONS)
        .order_by("-seq").first()
    )
    if entry is None:
        raise TransitionNotAllowed(
            _("The committee has not decided on this project yet: there is no decision letter."),
            code="no_decision", params={"state": project.state},
        )
    payload = entry.payload or {}
    try:
        amount = Decimal(str(payload["amount"])) if payload.get("amount") not in (None, "") else None
    except (InvalidOperation, ValueError):
        amount = None
    return Decision(
        outcome=DECISION_TRANSITIONS[entry.transition],
        decided_on=timezone.localdate(entry.created_at),
        amount=amount,
        conditions=str(payload.get("conditions") or ""),
        reason=str(payload.get("reason") or ""),
        session=_session(str(payload.get("decision") or "")),
    )


def _session(reference: str):
    match = _SESSION_REF.match(reference)
    if not match:
        return None
    from approvals.models import CommitteeSession

    return CommitteeSession.objects.select_related("committee").filter(pk=int(match[1])).first()


def letter_languages(beneficiary) -> list[str]:
    """The letter's languages, the beneficiary's own first."""
    first = beneficiary.document_language if beneficiary.document_language in LANGUAGES else LANGUAGES[0]
    return [first, *(language for language in LANGUAGES if language != first)]


def decision_letter_context(project, language: str) -> dict:
    decision = latest_decision(project)
    beneficiary = project.beneficiary
    return {
        "project": project, "beneficiary": beneficiary, "program": project.program,
        "places": place_names(commune=beneficiary.commune, province=project.program.province, language=language),
        "decision": decision, "session": decision.session,
        # The day the session was held (its opening), not the day it was planned for.
        "session_date": timezone.localdate(decision.session.held_at) if decision.session else None,
        "amount": format_mad(decision.amount, language) if decision.amount is not None else "",
        "issued_on": timezone.localdate(), "language": language,
    }


def decision_letter_pdf(project, language: str | None = None) -> bytes:
    """The decision letter of ``project`` in ``language`` (``ar``, right to left, or
    ``fr``; by default the beneficiary's language) as PDF bytes: the council's header,
    the beneficiary's name and commune, the project's reference and title, the committee
    session and the day it was held, the decision with the approved amount and
    conditions, or the reasons.

    Errors: ``invalid_input`` for another language; ``no_decision`` when the committee
    has not decided on the project. The caller checks who may download it.
    """
    if language is None:
        language = letter_languages(project.beneficiary)[0]
    if language not in LANGUAGES:
        raise InvalidInput(field_errors={"lang": [_("The letter exists in Arabic (ar) and French (fr).")]})
    context = decision_letter_context(project, language)
    try:
        from weasyprint import HTML
    except (ImportError, OSError) as exc:  # Pango missing on the machine
        raise ImproperlyConfigured(
            "Generating the decision letter needs WeasyPrint and Pango (Debian: libpango-1.0-0, fonts-dejavu-core)."
        ) from exc
    with translation.override(language):
        html = render_to_string(f"reporting/letters/decision_{language}.html", context)
    return HTML(string=html).write_pdf()
