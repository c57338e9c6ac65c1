"""The committee's facts, handed to the project's committee transitions.

workflow declares what ``schedule``, ``defer`` and ``decide_*`` need to know about the
committee (``workflow.facts``: ``AgendaPlacement``, ``CommitteeHold``,
``CommitteeDecision``) without importing approvals. This module defines the one class
implementing each — registered when the app starts (``approvals.apps``) — and the
functions that build them from the agenda; nothing else constructs them (each class
refuses to be built without this module's private key), and the project's guards accept
only an instance of exactly these classes:

* ``agenda_placement``: ``session_add_item``, for the item it has just created;
* ``committee_hold``: ``session_remove_item`` and ``session_close``, for a deferral;
* ``closing_decisions``: ``session_close`` only, once it has locked the open session
  and checked its chair — a confirmed decision exists for the project services only
  while its session is being closed.
"""

from dataclasses import dataclass, field
from decimal import Decimal

from django.utils.translation import gettext as _

from approvals.exceptions import NotAMember
from approvals.models import AgendaItem, CommitteeMember, SessionState
from approvals.selectors import session_seats
from core.exceptions import TransitionNotAllowed
from workflow.facts import AgendaPlacement, CommitteeDecision, CommitteeHold

# The sessions that hold the files on their agenda.
LIVE_SESSION_STATES = (SessionState.PLANNED, SessionState.OPEN)

_KEY = object()


class _BuiltHere:
    """Refuses to be constructed outside this module."""

    def __post_init__(self):
        if self._key is not _KEY:
            raise TypeError(f"a {type(self).__name__} is built only by approvals.facts")


@dataclass(frozen=True)
class SessionPlacement(_BuiltHere, AgendaPlacement):
    project_id: int
    program_id: int
    reference: dict
    _key: object = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class SessionHold(_BuiltHere, CommitteeHold):
    project_id: int
    held_by: str
    reference: dict
    _key: object = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class ConfirmedDecision(_BuiltHere, CommitteeDecision):
    project_id: int
    outcome: str
    outcome_label: str
    approved_amount: Decimal | None
    conditions: str
    reason: str
    chair_id: int
    reference: dict
    _key: object = field(default=None, repr=False, compare=False)


def register() -> None:
    """Make these classes the committee's facts (once, when the app starts)."""
    AgendaPlacement.implemented_by(SessionPlacement)
    CommitteeHold.implemented_by(SessionHold)
    CommitteeDecision.implemented_by(ConfirmedDecision)


def _reference(item) -> dict:
    return {"session": item.session_id, "item": item.pk}


def agenda_placement(item: AgendaItem) -> SessionPlacement | None:
    """The placement of ``item``'s file on its session's agenda; None unless the item is
    on the agenda of a planned (or open) session."""
    session = item.session
    if item.removed or session.state not in LIVE_SESSION_STATES:
        return None
    return SessionPlacement(project_id=item.project_id, program_id=session.committee.program_id,
                            reference=_reference(item), _key=_KEY)


def committee_hold(project_id, *, taken_off: AgendaItem | None = None,
                   deferral: ConfirmedDecision | None = None) -> SessionHold:
    """Whether a planned or open session holds the file, for its deferral.

    ``taken_off``: the agenda item just taken off (``removed``) that releases the file;
    ``deferral``: the confirmed deferral of the session being closed (from
    ``closing_decisions``), whose session then no longer holds it. Either names the
    release in the project's audit entry.
    """
    live = AgendaItem.objects.filter(project_id=project_id, removed=False, session__state__in=LIVE_SESSION_STATES)
    reference = {}
    if taken_off is not None and taken_off.removed and taken_off.project_id == project_id:
        reference = _reference(taken_off)
    if (type(deferral) is ConfirmedDecision and deferral.project_id == project_id
            and deferral.outcome == AgendaItem.Outcome.DEFER):
        live = live.exclude(pk=deferral.reference["item"])
        reference = dict(deferral.reference)
    held = live.select_related("session").order_by("pk").first()
    return SessionHold(project_id=project_id, held_by=held.session.title if held else "", reference=reference,
                       _key=_KEY)


def closing_decisions(session, chair, items) -> dict[int, ConfirmedDecision]:
    """The confirmed decisions on ``items`` (agenda items of ``session``), by item id,
    for ``chair`` to apply as they close the session. An item without a confirmed
    decision has none.

    Only ``session_close`` calls this, once it has locked the session and checked that
    it is open and that ``chair`` chairs its committee; both are checked again here
    (``transition_not_allowed``, ``not_a_member``).
    """
    if session.state != SessionState.OPEN:
        raise TransitionNotAllowed(params={"transition": "close", "state": session.state})
    if not session_seats(session).filter(user_id=chair.pk, role=CommitteeMember.Role.CHAIR).exists():
        raise NotAMember(_("Only the committee's chair can do this."))
    return {
        item.pk: ConfirmedDecision(
            project_id=item.project_id, outcome=item.outcome, outcome_label=str(item.get_outcome_display()),
            approved_amount=item.approved_amount, conditions=item.conditions, reason=item.reason,
            chair_id=chair.pk, reference=_reference(item), _key=_KEY,
        )
        for item in items
        if item.session_id == session.pk and not item.removed and item.confirmed_at is not None
    }
