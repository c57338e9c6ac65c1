"""What a project transition's guards need to know and workflow does not own.

Some guards of ``GrantProject`` depend on facts another app owns: the committee's
agenda and decisions (``approvals``), the training attendance (``training``), the
envelope ledger and the purchase orders (``disbursements``), the follow-up plan
(``followup``). workflow sits below those apps and never imports them (STYLE.md 13).
Instead, the service of the owning app computes the fact, under its own locks, and
hands it to the transition:

    transition_project(project, actor, "complete_training",
                       facts={"attendance": attendance_facts(project)})

The guards (``workflow.guards``) read the facts by name from that mapping; a fact not
handed in refuses the transition with the guard's code, like any unmet guard. The names
are the constants below, the shapes the classes below.

Two kinds of fact:

* Plain frozen dataclasses (envelope room, attendance, equipment, follow-up): a summary
  any caller can build, which the owning app's selector builds from its rows.
* Owned facts (``OwnedFact``: an agenda placement, a committee's hold on a file, a
  confirmed decision): what only the committee may assert. workflow declares their
  fields; ``approvals`` defines the one class implementing each and registers it at
  start-up (``approvals.apps``), and only ``approvals`` constructs them. A guard accepts
  an instance of exactly that class (``is_genuine``): a look-alike built anywhere else —
  a subclass, an object with the same fields — is refused.
"""

from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ImproperlyConfigured

# The names under which the services hand the facts in (the keys of ``facts``).
PLACEMENT = "placement"
HOLD = "hold"
DECISION = "decision"
APPLIED_BY = "applied_by"  # the user id of whoever applies a committee decision
ENVELOPE = "envelope"
ATTENDANCE = "attendance"
EQUIPMENT = "equipment"
FOLLOWUP = "followup"


class OwnedFact:
    """A fact only its owning app builds. Each kind below is a direct subclass that
    declares its fields; the owning app registers its one implementation with
    ``implemented_by`` when it starts."""

    _implementation: type | None = None

    @classmethod
    def implemented_by(cls, implementation: type) -> type:
        """Register ``implementation`` as the one class of this kind of fact. A second,
        different registration is a configuration error."""
        if cls.__bases__ != (OwnedFact,) or not issubclass(implementation, cls):
            raise ImproperlyConfigured(f"{implementation!r} does not implement {cls.__name__}")
        registered = cls.__dict__.get("_implementation")
        if registered is not None and registered is not implementation:
            raise ImproperlyConfigured(f"{cls.__name__} is already implemented by {registered!r}")
        cls._implementation = implementation
        return implementation

    @classmethod
    def is_genuine(cls, value) -> bool:
        """Whether ``value`` is an instance of exactly the registered implementation."""
        implementation = cls.__dict__.get("_implementation")
        return implementation is not None and type(value) is implementation


class AgendaPlacement(OwnedFact):
    """A file on the agenda of a planned (or open) session of its program's committee,
    handed to ``schedule`` by the service that put it there."""

    project_id: int
    program_id: int
    reference: dict  # {"session": id, "item": id}, recorded in the audit entry


class CommitteeHold(OwnedFact):
    """Whether a committee session still holds a file (it is on a planned or open
    session's agenda), handed to ``defer``. The agenda item taken off, or the closing
    session's confirmed deferral, that releases the file does not hold it."""

    project_id: int
    held_by: str  # the title of the session that holds the file; "" when none does
    reference: dict  # {"session": id, "item": id} of the release, or {} for none


class CommitteeDecision(OwnedFact):
    """A decision a committee session confirmed on one file, handed to ``decide_*`` by
    the close of that session — the only place one is built."""

    project_id: int
    outcome: str  # "approve", "revise", "reject" (workflow.services.Decision), or "defer"
    outcome_label: str
    approved_amount: Decimal | None
    conditions: str
    reason: str
    chair_id: int  # the chair closing the session; only they apply it
    reference: dict  # {"session": id, "item": id}


@dataclass(frozen=True)
class EnvelopeRoom:
    """What a program's budget envelope can still commit: the envelope less what its
    ledger holds committed (commitments less decommitments). ``disbursements.selectors
    .envelope_room`` computes it under the program row lock the approving service holds,
    so it cannot move before the commitment; the session's close computes it again for
    each file it approves, after the commitments of the files approved before it."""

    program_id: int
    free: Decimal


@dataclass(frozen=True)
class TrainingAttendance:
    """Whether every mandatory module is attended at the program's threshold, and, when
    not, which modules fall short (the guard's message)."""

    project_id: int
    met: bool
    shortfall: str = ""


@dataclass(frozen=True)
class EquipmentReceipt:
    """Whether the project has purchase orders and every one is received with a signed
    receipt report; when not, which orders hold it back (the guard's message)."""

    project_id: int
    all_received: bool
    pending: str = ""


@dataclass(frozen=True)
class FollowUpProgress:
    """Whether the project's follow-up plan exists and every visit of it is reported."""

    project_id: int
    finished: bool
