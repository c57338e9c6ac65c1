"""The session's minutes (procès-verbal): a PDF in French and Arabic generated at close,
and the members' confirmations by re-entering their password (step-up)."""

import hashlib

from django.core.exceptions import ImproperlyConfigured
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _

from approvals.exceptions import NotAMember
from approvals.locks import lock_session
from approvals.models import Attendance, InterestDeclaration, MinutesConfirmation, SessionMinutes, Vote
from approvals.selectors import membership
from core.exceptions import InvalidInput
from core.stepup import confirm_password
from core.transactions import service_transaction
from ledger.transitions import apply_transition, check_permission, check_transition


def minutes_context(session, items, tallies, skipped=None) -> dict:
    program = session.committee.program
    criteria = list(program.criteria.all())
    attendance = list(Attendance.objects.filter(session=session).select_related("user").order_by("user__last_name"))
    rows = []
    for item in items:
        # Only the votes the rule counted (present, not recused members).
        votes = list(Vote.objects.filter(item=item, user_id__in=tallies[item.pk].voters))
        averages = []
        for criterion in criteria:
            values = [v.scores.get(criterion.code) for v in votes if criterion.code in v.scores]
            averages.append((criterion, sum(values) / len(values) if values else None))
        rows.append({
            "item": item, "project": item.project, "tally": tallies[item.pk],
            "recused": list(InterestDeclaration.objects.filter(item=item, has_conflict=True)
                            .select_related("user").order_by("user__last_name")),
            "averages": averages,
            "not_applied": (skipped or {}).get(item.pk),
        })
    return {"session": session, "program": program, "attendance": attendance, "rows": rows,
            "criteria": criteria}


def render_minutes(session, items, tallies, skipped=None) -> bytes:
    """The minutes as PDF bytes: a French part, then an Arabic part (right to left)."""
    try:
        from weasyprint import HTML
    except (ImportError, OSError) as exc:  # Pango missing on the machine
        raise ImproperlyConfigured(
            "Generating the minutes needs WeasyPrint and Pango (Debian: libpango-1.0-0, fonts-dejavu-core)."
        ) from exc
    context = minutes_context(session, items, tallies, skipped)
    parts = []
    for language in ("fr", "ar"):
        with translation.override(language):
            parts.append(render_to_string("approvals/minutes_part.html", {**context, "language": language}))
    html = render_to_string("approvals/minutes.html", {"parts": parts, "session": session})
    return HTML(string=html).write_pdf()


def store_minutes(session, pdf: bytes) -> SessionMinutes:
    return SessionMinutes.objects.create(session=session, pdf=pdf, sha256=hashlib.sha256(pdf).hexdigest())


@service_transaction
def minutes_confirm(*, session_id, actor, password) -> MinutesConfirmation:
    """A member confirms the closed session's minutes by re-entering their password; the
    confirmation is a signed audit entry carrying the minutes' SHA-256."""
    session = lock_session(session_id)
    check_permission(actor, "approvals.vote_session")
    if membership(session.committee, actor) is None:
        raise NotAMember()
    check_transition(session, "confirm_minutes")
    if not Attendance.objects.filter(session=session, user=actor, present=True).exists():
        raise NotAMember(_("Only members present at the session confirm its minutes."))
    confirm_password(actor, password, field="password")
    if MinutesConfirmation.objects.filter(session=session, user=actor).exists():
        raise InvalidInput(field_errors={"__all__": [_("You have already confirmed these minutes.")]})
    confirmation = MinutesConfirmation.objects.create(session=session, user=actor)
    apply_transition(session, actor, "confirm_minutes", payload={"minutes_sha256": session.minutes.sha256})
    return confirmation
