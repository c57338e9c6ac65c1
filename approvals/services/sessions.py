"""Committee sessions: agenda, attendance, opening and closing (planned → open → closed).

Closing applies every confirmed decision as project transitions in the same
transaction — all or nothing — committing approved amounts against the program's
envelope under its row lock (each approval is handed the envelope's room as it stands
after the commitments made before it), then writes the minutes (rendered beforehand,
with no lock held) and the closing audit entry (which carries the minutes' SHA-256).

The project's committee transitions accept only what this app hands them
(``approvals.facts``): the placement of a file on an agenda, whether a session still
holds it, and — built only here, by the close — the session's confirmed decisions.
"""

from dataclasses import dataclass

from django.utils import timezone
from django.utils.translation import gettext as _

from approvals.exceptions import DecisionOutdated, DecisionsMissing, MinutesOutdated, NotAMember
from approvals.facts import agenda_placement, closing_decisions, committee_hold
from approvals.locks import lock_session
from approvals.models import AgendaItem, Attendance, CommitteeMember, CommitteeSession
from approvals.selectors import item_tally, member_ids, present_ids, session_seats
from approvals.services.minutes import facts_digest, minutes_facts, render_minutes, store_minutes
from core.exceptions import InvalidInput, NotFound, TamkeenError, TransitionNotAllowed
from core.input import clean_text, require_text
from core.reasons import NO_DECISION, reason_english
from core.roles import role_for
from core.transactions import consistent_read, service_transaction, within_caller_transaction
from disbursements.selectors import envelope_room
from disbursements.services.envelope import commit_for_project
from ledger.entries import HEAD_FIELDS, record_transition
from ledger.transitions import apply_transition, check_permission, check_transition
from workflow.locks import lock_program, lock_project
from workflow.models import ProjectState
from workflow.services import Decision, project_decide, project_defer, project_schedule


def require_chair(session, actor):
    if not session_seats(session).filter(user=actor, role=CommitteeMember.Role.CHAIR).exists():
        raise NotAMember(_("Only the committee's chair can do this."))


@service_transaction
def session_create(*, actor, committee, title, scheduled_for, location="") -> CommitteeSession:
    """Plan a session of ``committee``. Program officer. Audited as ``create``."""
    check_permission(actor, "approvals.manage_session")
    title = require_text(title, "title", max_length=200)
    if scheduled_for is None:
        raise InvalidInput(field_errors={"scheduled_for": [_("This field is required.")]})
    session = CommitteeSession.objects.create(
        committee=committee, title=title, scheduled_for=scheduled_for, location=clean_text(location),
        created_by=actor,
    )
    record_transition(
        entity=session, transition="create", from_state="", to_state=session.state, actor=actor,
        role=role_for(actor, "approvals.manage_session"),
        payload={"committee": committee.pk, "program": committee.program.code, "title": title,
                 "scheduled_for": scheduled_for},
    )
    session.save(update_fields=list(HEAD_FIELDS))
    return session


@service_transaction
def session_add_item(*, session_id, project_id, actor) -> AgendaItem:
    """Put an eligible project on a planned session's agenda: the project moves to
    in_committee through ``project_schedule``, handed the new item's placement (the
    only way a file reaches the committee). Program officer."""
    check_permission(actor, "approvals.manage_session")
    session = lock_session(session_id)
    check_transition(session, "add_item")
    project = lock_project(project_id)
    if project.program_id != session.committee.program_id:
        raise InvalidInput(field_errors={"project": [_("This file belongs to another program.")]})
    if project.state != ProjectState.ELIGIBLE:
        raise TransitionNotAllowed(_("Only an eligible file can be put on the agenda."),
                                   params={"state": project.state})
    position = session.items.filter(removed=False).count() + 1
    item = AgendaItem.objects.create(session=session, project=project, position=position)
    with within_caller_transaction():
        project_schedule(project_id=project.pk, actor=actor, placement=agenda_placement(item))
    apply_transition(session, actor, "add_item",
                     payload={"item": item.pk, "project": project.pk, "position": position})
    return item


@service_transaction
def session_remove_item(*, session_id, item_id, actor, reason) -> AgendaItem:
    """Take a file off a planned session's agenda (the project returns to eligible).
    Program officer; reason required."""
    reason = require_text(reason, "reason")
    check_permission(actor, "approvals.manage_session")
    session = lock_session(session_id)
    check_transition(session, "remove_item")
    item = session.items.filter(pk=item_id, removed=False).first()
    if item is None:
        raise InvalidInput(field_errors={"item": [_("This file is not on the agenda.")]})
    project = lock_project(item.project_id)
    # Off the agenda first: the file's deferral is refused while a session holds it.
    item.removed = True
    item.save(update_fields=["removed"])
    with within_caller_transaction():
        project_defer(project_id=project.pk, actor=actor, reason=reason,
                      hold=committee_hold(project.pk, taken_off=item))
    apply_transition(session, actor, "remove_item", payload={"item": item.pk, "project": project.pk, "reason": reason})
    return item


@service_transaction
def session_record_attendance(*, session_id, actor, present_user_ids) -> CommitteeSession:
    """Record who is present (everyone else is absent). Program officer, before or during
    the session."""
    check_permission(actor, "approvals.manage_session")
    try:
        present = {int(pk) for pk in present_user_ids}
    except (TypeError, ValueError):
        raise InvalidInput(field_errors={"present": [_("Choose members from the list.")]}) from None
    session = lock_session(session_id)
    check_transition(session, "record_attendance")
    members = member_ids(session)
    if present - members:
        raise InvalidInput(field_errors={"present": [_("Only committee members can be recorded as present.")]})
    for user_id in members:
        Attendance.objects.update_or_create(session=session, user_id=user_id,
                                            defaults={"present": user_id in present})
    return apply_transition(session, actor, "record_attendance",
                            payload={"present": sorted(present), "absent": sorted(members - present)})


@service_transaction
def session_open(*, session_id, actor) -> CommitteeSession:
    """planned → open. The chair; needs an agenda and recorded attendance."""
    session = lock_session(session_id)
    require_chair(session, actor)
    if not session.items.filter(removed=False).exists():
        raise InvalidInput(field_errors={"__all__": [_("The agenda is empty.")]})
    if not session.attendance.exists():
        raise InvalidInput(field_errors={"__all__": [_("Record the attendance first.")]})
    session.opened_at = timezone.now()
    return apply_transition(session, actor, "open", payload={"present": sorted(present_ids(session))},
                            fields=["opened_at"])


def session_close(*, session_id, actor) -> CommitteeSession:
    """open → closed. The chair. Applies every confirmed decision to its project in one
    transaction (all or nothing; approvals checked against the envelope under its lock),
    writes the minutes and records their SHA-256 in the closing entry.

    The minutes PDF (slow to render) is rendered first, from one consistent read and
    with no lock held; the locked transaction then checks that what it was rendered from
    is still what the session holds (``minutes.facts_digest``). If anything changed in
    between (a vote, the attendance, a file withdrawn), the minutes are rendered again,
    once; a second change refuses the close with ``minutes_outdated`` (nothing written)."""
    minutes = _prepare_minutes(session_id, actor)
    try:
        return _close(session_id=session_id, actor=actor, minutes=minutes)
    except MinutesOutdated:
        # Changed while they were rendered: render them once more from what it holds now.
        return _close(session_id=session_id, actor=actor, minutes=_prepare_minutes(session_id, actor))


@dataclass(frozen=True)
class PreparedMinutes:
    pdf: bytes
    digest: str  # facts_digest of the facts the PDF was rendered from


def _prepare_minutes(session_id, actor) -> PreparedMinutes:
    """Render the minutes from one consistent read, outside any lock. The close's own
    checks run here first, so a refused close renders nothing."""
    with consistent_read():
        session = CommitteeSession.objects.select_related("committee", "committee__program").filter(
            pk=session_id).first()
        if session is None:
            raise NotFound()
        items, tallies = _closing_items(session, actor)
        # The files that left the committee during the session, as the close will find them.
        skipped = {item.pk: item.project.state for item in items if item.project.state != ProjectState.IN_COMMITTEE}
        facts = minutes_facts(session, items, tallies, skipped)
    return PreparedMinutes(pdf=render_minutes(facts), digest=facts_digest(facts))


def _closing_items(session, actor):
    """The close's checks (the chair, the state, every decision confirmed on the votes
    as they stand): the agenda's items and their tallies."""
    require_chair(session, actor)
    check_permission(actor, "approvals.chair_session")
    check_transition(session, "close")
    items = list(session.items.filter(removed=False).select_related("project", "project__beneficiary")
                 .order_by("position"))
    missing = [item for item in items if item.confirmed_at is None]
    if missing:
        raise DecisionsMissing(
            field_errors={"__all__": [_("No confirmed decision for %(ref)s.") % {"ref": i.project.reference}
                                      for i in missing]},
            params={"items": [i.pk for i in missing]},
        )
    members, present = member_ids(session), present_ids(session)
    tallies = {}
    for item in items:
        tallies[item.pk] = item_tally(item, members=members, present=present)
        if tallies[item.pk].as_dict() != item.confirmed_tally:
            raise DecisionOutdated(
                field_errors={"__all__": [_("Votes on %(ref)s changed after its decision was confirmed.")
                                          % {"ref": item.project.reference}]},
                params={"item": item.pk},
            )
    return items, tallies


@service_transaction
def _close(*, session_id, actor, minutes: PreparedMinutes) -> CommitteeSession:
    session = lock_session(session_id)
    items, tallies = _closing_items(session, actor)
    program = lock_program(session.committee.program_id)  # envelope before projects
    skipped = {}
    # The only place the session's confirmed decisions are built, for its chair: the
    # project services accept no other (DESIGN.md §3).
    decisions = closing_decisions(session, actor, items)
    with within_caller_transaction():
        for item in items:
            state = item.project.__class__.objects.values_list("state", flat=True).get(pk=item.project_id)
            if state != ProjectState.IN_COMMITTEE:
                # Withdrawn or suspended during the session: the decision is recorded in
                # the minutes and the closing entry, not applied.
                skipped[item.pk] = state
                continue
            _apply_decision(item, decisions[item.pk], actor, program)
    # The minutes were rendered before the locks: only if their facts are still those
    # read now does their PDF (and its SHA-256, signed below) become the session's.
    if facts_digest(minutes_facts(session, items, tallies, skipped)) != minutes.digest:
        raise MinutesOutdated()
    minutes = store_minutes(session, minutes.pdf)
    session.closed_at = timezone.now()
    return apply_transition(
        session, actor, "close", fields=["closed_at"],
        payload={
            "minutes_sha256": minutes.sha256,
            "decisions": [
                {"item": i.pk, "project": i.project_id, "outcome": i.outcome, "amount": i.approved_amount,
                 "tally": tallies[i.pk].as_dict(), "applied": i.pk not in skipped,
                 **({"project_state": skipped[i.pk]} if i.pk in skipped else {})}
                for i in items
            ],
        },
    )


def _apply_decision(item, decision, actor, program):
    """Apply the session's confirmed ``decision`` on ``item`` to its file. An approval is
    handed the room of ``program``'s envelope (locked by the close), measured now, after
    the commitments of the files approved before it, and is committed against it."""
    try:
        if item.outcome == AgendaItem.Outcome.DEFER:
            # The rule's reason (its code), the chair's, or the system's own.
            code = item.reason_code or ("" if item.reason else NO_DECISION)
            project_defer(project_id=item.project_id, actor=actor, reason=item.reason or reason_english(code),
                          reason_code=code, hold=committee_hold(item.project_id, deferral=decision))
        elif item.outcome == Decision.APPROVE:
            project = project_decide(project_id=item.project_id, actor=actor, outcome=item.outcome,
                                     decision=decision, envelope=envelope_room(program))
            commit_for_project(project, actor)
        else:
            project_decide(project_id=item.project_id, actor=actor, outcome=item.outcome, decision=decision)
    except TamkeenError as error:
        # Say which file stopped the close; nothing of the close is kept.
        error.params = {**error.params, "item": item.pk, "project": item.project_id}
        error.field_errors.setdefault("__all__", []).insert(
            0, _("%(ref)s: %(message)s") % {"ref": item.project.reference, "message": error.message}
        )
        raise
