"""The session's minutes (procès-verbal): a PDF in French and Arabic generated at close,
and the members' confirmations by re-entering their password (step-up).

The minutes date the session on the day and hour it was opened (the planned date is
added only when the session was held on another day), and say for each file what
happened to it — decided on the votes, deferred for want of quorum, of a majority or
on a tie, or not examined at all when nobody voted — in one result line, so that no
line contradicts another."""

import hashlib
import json

from django.core.exceptions import ImproperlyConfigured
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.dateformat import format as format_date
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
from approvals.tally import NO_QUORUM, PROPOSAL_LABELS, TIE
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
            "votes_cast": tally.votes_cast, "result": item_result(item.outcome, tally),
            "averages": averages,
            "outcome": item.outcome, "approved_amount": item.approved_amount,
            "conditions": item.conditions, "reason": item.reason,
            **({"reason_code": item.reason_code, "reason_params": item.reason_params} if item.reason_code else {}),
            "not_applied": (skipped or {}).get(item.pk),
        })
    return {
        "session": {"id": session.pk, "title": session.title, "scheduled_for": session.scheduled_for,
                    "opened_at": session.opened_at,
                    "location": session.location, "committee": session.committee.name},
        "program": session.committee.program.name,
        "criteria": [{"code": c.code, "fr": c.name_fr, "ar": c.name_ar} for c in criteria],
        "attendance": [{"name": _person(a.user), "present": a.present} for a in attendance],
        "rows": rows,
    }


# What happened to a file in the session, as the minutes say it.
DECIDED, NOT_EXAMINED, DEFERRED_NO_QUORUM, DEFERRED_TIE, DEFERRED_NO_MAJORITY = (
    "decided", "not_examined", "deferred_no_quorum", "deferred_tie", "deferred_no_majority",
)


def item_result(outcome: str, tally) -> str:
    """What happened to the file: decided on the votes (the confirmed decision follows
    the votes' proposal), not examined (nobody voted), or deferred for want of quorum,
    on a tie or for want of a majority."""
    if outcome != AgendaItem.Outcome.DEFER:
        return DECIDED
    if tally.votes_cast == 0:
        return NOT_EXAMINED
    if tally.proposal == NO_QUORUM:
        return DEFERRED_NO_QUORUM
    if tally.proposal == TIE:
        return DEFERRED_TIE
    return DEFERRED_NO_MAJORITY


def _result_text(row: dict) -> str:
    """The result line of ``row`` in the active language."""
    numbers = {"cast": row["votes_cast"], "voters": row["voters"], "needed": row["quorum_needed"]}
    result = row["result"]
    if result == DECIDED:
        return _("Decided on the votes: %(cast)s votes cast by %(voters)s members entitled to vote "
                 "(quorum: %(needed)s).") % numbers
    if result == NOT_EXAMINED:
        if not row["quorum_met"]:
            return _("Not examined: quorum not reached (%(voters)s members entitled to vote, %(needed)s needed); "
                     "no vote was cast. The file is deferred.") % numbers
        return _("Not examined: no vote was cast. The file is deferred.")
    if result == DEFERRED_NO_QUORUM:
        return _("Deferred: quorum not reached (%(voters)s members entitled to vote, %(needed)s needed).") % numbers
    if result == DEFERRED_TIE:
        return _("Deferred: the votes are tied (%(cast)s votes cast).") % numbers
    return _("Deferred: no proposal won a majority (%(cast)s votes cast).") % numbers


def _automatic_reasons() -> set:
    """The reasons a deferral records when the chair gives none: the rule's proposal
    labels, in whichever language the chair was using."""
    reasons = set()
    for language in ("en", "fr", "ar"):
        with translation.override(language):
            reasons.update(str(label) for label in PROPOSAL_LABELS.values())
    return reasons


def _held_text(session: dict) -> str:
    """When the session was held (its opening) and, if on another day, when it was planned."""
    def when(moment):
        return {"date": format_date(moment, "d/m/Y"), "time": format_date(moment, "H:i")}

    planned = timezone.localtime(session["scheduled_for"])
    opened = timezone.localtime(session["opened_at"]) if session.get("opened_at") else None
    if opened is None:
        return _("Planned for %(date)s at %(time)s.") % when(planned)
    held = _("Held on %(date)s, opened at %(time)s.") % when(opened)
    if opened.date() != planned.date():
        held += " " + _("(Planned for %(date)s at %(time)s.)") % when(planned)
    return held


def _person(user) -> str:
    return user.get_full_name() or user.get_username()


def facts_digest(facts: dict) -> str:
    """SHA-256 of the facts in a canonical form (sorted keys; decimals and times as text)."""
    text = json.dumps(facts, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def render_minutes(facts: dict) -> bytes:
    """The minutes as PDF bytes from ``minutes_facts``: a French part, then an Arabic part
    (right to left). Reads nothing from the database. They are rendered at the close: the
    time of rendering is the time they were drawn up."""
    try:
        from weasyprint import HTML
    except (ImportError, OSError) as exc:  # Pango missing on the machine
        raise ImproperlyConfigured(
            "Generating the minutes needs WeasyPrint and Pango (Debian: libpango-1.0-0, fonts-dejavu-core)."
        ) from exc
    drawn_up = timezone.localtime()
    parts = []
    for language in ("fr", "ar"):
        with translation.override(language):
            context = _part_context(facts, language)
            context["drawn_up"] = _("Minutes drawn up at the close of the session, on %(date)s at %(time)s.") % {
                "date": format_date(drawn_up, "d/m/Y"), "time": format_date(drawn_up, "H:i")}
            parts.append(render_to_string("approvals/minutes_part.html", context))
    html = render_to_string("approvals/minutes.html", {"parts": parts, "title": facts["session"]["title"]})
    return HTML(string=html).write_pdf()


def _part_context(facts: dict, language: str) -> dict:
    """One language's view of the facts (names of criteria and decisions in that language)."""
    names = [criterion[language] for criterion in facts["criteria"]]
    rows = []
    for row in facts["rows"]:
        outcome = row["outcome"]
        label = AgendaItem.Outcome(outcome).label if outcome in AgendaItem.Outcome.values else outcome
        reason = row["reason"]
        if outcome == AgendaItem.Outcome.DEFER:
            label = _("deferred")
            if row.get("reason_code") or reason in _automatic_reasons():
                # The rule's own reason, stored when the chair gave none ("no majority"
                # even when nobody voted): the result line says what happened instead.
                reason = ""
        if reason:
            # A system reason in this part's language; a person's as written.
            reason = reason_text(row.get("reason_code"), row.get("reason_params"), reason)
        rows.append({**row, "reason": reason, "outcome_label": str(label), "result_text": _result_text(row),
                     "averages": list(zip(names, row["averages"], strict=True))})
    return {**facts, "rows": rows, "language": language, "held": _held_text(facts["session"])}


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
