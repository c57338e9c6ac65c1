"""How a transition's guards are written, and the guards that read handed-in facts.

Two kinds of guard, both reporting a stable code and a translated reason when unmet
(``ledger.transitions.check_transition`` lists every unmet one at once):

* ``guard``: a django-fsm condition, ``condition(instance) -> bool``, listed in the
  transition's ``conditions``. It reads the instance and the rows of its own app.
* ``fact_guard``: ``guard(instance, facts) -> bool``, listed in the transition's
  ``custom={"fact_guards": [...]}``. It reads facts another app owns, which that app's
  service computes and hands in (``workflow.facts``). django-fsm calls its conditions
  with the instance alone, so these are not conditions: only ``check_transition``,
  called by every service before the transition, evaluates them.

A fact guard declares the facts it reads and their class; a fact missing, or of another
class (for an owned fact: not built by its owner), refuses the transition with the
guard's code — never an ``AttributeError``.
"""

from django.utils.translation import gettext_lazy as _

from workflow.facts import (
    APPLIED_BY,
    ATTENDANCE,
    DECISION,
    ENVELOPE,
    EQUIPMENT,
    HOLD,
    PLACEMENT,
    AgendaPlacement,
    CommitteeDecision,
    CommitteeHold,
    EnvelopeRoom,
    EquipmentReceipt,
    OwnedFact,
    TrainingAttendance,
)


def guard(code, message, detail=None):
    """Mark a transition condition with the coded, translated reason shown when it fails.
    ``detail(instance)``, when given, says precisely what is missing."""

    def decorate(func):
        func.guard_code = code
        func.guard_message = message
        func.guard_detail = detail
        return func

    return decorate


def _handed_in(facts, name, kind) -> bool:
    value = (facts or {}).get(name)
    if isinstance(kind, type) and issubclass(kind, OwnedFact):
        return kind.is_genuine(value)
    return isinstance(value, kind)


def fact_guard(code, message, *, needs, missing=None):
    """Make a fact guard of ``refusal(instance, facts) -> str | None`` (why the facts do
    not allow the move; None when they do). ``needs`` maps each fact name to its class;
    when one is not handed in, the guard fails with ``missing`` (or ``message``). A guard
    that needs nothing (``needs={}``) judges only a fact handed in and leaves a missing
    one to the guard that needs it, so that each refusal keeps its own code."""

    def decorate(refusal):
        def detail(instance, facts):
            if not all(_handed_in(facts, name, kind) for name, kind in needs.items()):
                return missing or message
            return refusal(instance, facts)

        def check(instance, facts):
            return detail(instance, facts) is None

        check.__name__ = check.__qualname__ = refusal.__name__
        check.__doc__ = refusal.__doc__
        check.guard_code, check.guard_message, check.guard_detail = code, message, detail
        check.guard_facts = tuple(needs)
        return check

    return decorate


# --- Committee (DESIGN.md §3) ---------------------------------------------------------
# A file enters and leaves the committee only through a session: ``schedule`` by being
# put on a session's agenda, ``decide_*`` (and a session's deferral) by the chair closing
# the session that confirmed the decision. ``approvals`` builds each of these facts;
# a direct call has none and is refused with a coded reason, having changed nothing.

AGENDA_ONLY = _("A file goes to committee only by being put on a session's agenda.")
CLOSE_ONLY = _("A committee decision applies to a file only when the chair closes the session that took it.")


@fact_guard("not_on_agenda", AGENDA_ONLY, needs={PLACEMENT: AgendaPlacement})
def placed_on_session_agenda(project, facts):
    placement = facts[PLACEMENT]
    if placement.project_id != project.pk:
        return _("This agenda item does not hold this file.")
    if placement.program_id != project.program_id:
        return _("This session belongs to another program's committee.")
    return None


@fact_guard("on_session_agenda", _("This file is on a session's agenda: take it off the agenda there, "
                                   "or let the session decide."),
            needs={HOLD: CommitteeHold},
            missing=_("Only the committee knows whether a session holds this file: defer it from the "
                      "session's agenda."))
def not_held_by_a_session(project, facts):
    hold = facts[HOLD]
    if hold.project_id != project.pk:
        return _("This is about another file.")
    if hold.held_by:
        return _("This file is on the agenda of the session “%(title)s”: take it off the agenda there, "
                 "or let the session decide.") % {"title": hold.held_by}
    return None


def _decided_by_closing_session(outcome):
    @fact_guard("no_session_decision", CLOSE_ONLY, needs={DECISION: CommitteeDecision, APPLIED_BY: int})
    def decided_by_closing_session(project, facts):
        decision = facts[DECISION]
        if decision.project_id != project.pk:
            return _("This decision is about another file.")
        if decision.outcome != outcome:
            return _("The decision the session confirmed on this file is “%(outcome)s”.") % {
                "outcome": decision.outcome_label}
        if decision.chair_id != facts[APPLIED_BY]:
            return _("Only the chair of the session's committee applies its decisions, by closing it.")
        return None

    decided_by_closing_session.__name__ = f"session_decided_{outcome}"
    return decided_by_closing_session


session_decided_approve = _decided_by_closing_session("approve")
session_decided_revise = _decided_by_closing_session("revise")
session_decided_reject = _decided_by_closing_session("reject")


# --- The envelope (DESIGN.md §7) -------------------------------------------------------
# An approval commits its amount against the program's envelope, whose ledger
# disbursements owns: the session's close hands in the envelope's room (``EnvelopeRoom``),
# computed under the program row lock. Two guards, so that an envelope nobody measured
# (``envelope_unchecked``, a plain ``guard_failed``) is never reported as a full one
# (``envelope_exceeded``, which ``check_transition`` raises as ``budget_exceeded``).

ENVELOPE_FULL = _("The program's budget envelope has no room left for this amount.")


@fact_guard("envelope_unchecked", _("The envelope's free balance was not checked: a file is approved by "
                                    "closing its committee session."),
            needs={ENVELOPE: EnvelopeRoom})
def envelope_room_handed_in(project, facts):
    if facts[ENVELOPE].program_id != project.program_id:
        return _("This is another program's envelope.")
    return None


@fact_guard("envelope_exceeded", ENVELOPE_FULL, needs={})
def approved_amount_within_envelope(project, facts):
    room = (facts or {}).get(ENVELOPE)
    if not isinstance(room, EnvelopeRoom) or room.program_id != project.program_id:
        return None  # nothing to measure against: envelope_room_handed_in refuses
    if project.approved_amount is None or project.approved_amount > room.free:
        return ENVELOPE_FULL
    return None


# --- Training, equipment -----------------------------------------------------------


@fact_guard("training_incomplete",
            _("Mandatory training modules are not attended at the program's threshold."),
            needs={ATTENDANCE: TrainingAttendance},
            missing=_("The training attendance was not checked: sign the training off from the training pages."))
def training_attendance_met(project, facts):
    attendance = facts[ATTENDANCE]
    if attendance.project_id != project.pk:
        return _("This attendance is another file's.")
    if not attendance.met:
        return attendance.shortfall or _("Mandatory training modules are not attended at the program's threshold.")
    return None


@fact_guard("orders_not_received",
            _("Every purchase order must be received with a signed receipt report."),
            needs={EQUIPMENT: EquipmentReceipt},
            missing=_("The purchase orders were not checked: confirm the equipment from the funding pages."))
def all_orders_received(project, facts):
    equipment = facts[EQUIPMENT]
    if equipment.project_id != project.pk:
        return _("These purchase orders are another file's.")
    if not equipment.all_received:
        return equipment.pending or _("Every purchase order must be received with a signed receipt report.")
    return None

