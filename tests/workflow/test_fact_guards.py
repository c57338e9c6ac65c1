"""Guards on facts another app owns (STYLE.md 13, ``workflow.facts``).

A transition whose guard reads another app's fact is refused, with that guard's code
and a message, when the fact is not handed in, is of the wrong kind, or is about
another file — never an ``AttributeError`` — and nothing changes. The owning app's
service hands the right fact in; ``workflow`` imports none of those apps.
"""

from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.db import transaction

from approvals.facts import agenda_placement, closing_decisions, committee_hold
from approvals.models import AgendaItem, CommitteeSession
from core.exceptions import GuardFailed, TamkeenError
from demo.scenarios import decide_in_session, plan_session
from disbursements.models import EnvelopeEvent
from disbursements.selectors import envelope_room, equipment_receipt
from followup.plan import followup_progress
from ledger.models import AuditEntry
from ledger.transitions import check_transition
from tests._committee_support import item_of
from training.attendance import attendance_facts
from workflow import facts as F
from workflow import services
from workflow.models import GrantProject, Program
from workflow.services import transition_project

# transition → (source state, who moves it, the guard's code, the fact it reads)
FACT_GUARDS = {
    "schedule": ("eligible", "officer", "not_on_agenda", F.PLACEMENT),
    "defer": ("in_committee", "officer", "on_session_agenda", F.HOLD),
    "decide_approve": ("in_committee", "chair", "no_session_decision", F.DECISION),
    "decide_revise": ("in_committee", "chair", "no_session_decision", F.DECISION),
    "decide_reject": ("in_committee", "chair", "no_session_decision", F.DECISION),
    "complete_training": ("in_training", "officer", "training_incomplete", F.ATTENDANCE),
    "equipment_received": ("funding", "officer", "orders_not_received", F.EQUIPMENT),
    "close": ("launched", "officer", "followup_incomplete", F.FOLLOWUP),
}


def _snapshot(pk):
    project = GrantProject.objects.get(pk=pk)
    return (GrantProject.objects.filter(pk=pk).values().get(),
            AuditEntry.objects.for_entity(project).count())


def _apply(pk, actor, name, facts):
    """The transition applied as a service applies it, with ``facts`` handed in."""
    with transaction.atomic():
        locked = GrantProject.objects.select_for_update().get(pk=pk)
        transition_project(locked, actor, name, facts=facts)


def _refusal(project, actor, name, facts):
    before = _snapshot(project.pk)
    with pytest.raises(GuardFailed) as caught:
        _apply(project.pk, actor, name, facts)
    assert _snapshot(project.pk) == before
    return caught.value


def test_the_table_names_every_transition_with_a_fact_guard():
    with_facts = {
        name for name in GrantProject.transition_names()
        for t in getattr(GrantProject, name)._django_fsm.transitions.values()
        if t.custom.get("fact_guards")
    }
    assert with_facts == set(FACT_GUARDS)


@pytest.mark.parametrize("name", list(FACT_GUARDS))
@pytest.mark.parametrize("handed_in", ["nothing", "an empty mapping", "something else"])
def test_a_missing_fact_is_a_coded_refusal(name, handed_in, make_project, cast):
    source, who, code, fact = FACT_GUARDS[name]
    project = make_project(source)
    facts = {"nothing": None, "an empty mapping": {}, "something else": {fact: {"met": True}}}[handed_in]
    error = _refusal(project, getattr(cast, who), name, facts)
    assert code in error.params["failures"]
    message = dict(error.failures)[code]
    assert message.strip() and "Error" not in message


@pytest.mark.parametrize("name", list(FACT_GUARDS))
def test_check_transition_without_facts_refuses_with_the_guards_code(name, make_project):
    source, _who, code, _fact = FACT_GUARDS[name]
    project = make_project(source)
    with pytest.raises(GuardFailed) as caught:
        check_transition(GrantProject.objects.get(pk=project.pk), name)
    assert code in caught.value.params["failures"]


def _another_files_fact(name, project, other, cast):
    """The owning app's fact, built for ``other`` instead of ``project``."""
    if name == "schedule":
        plan_session(other.program, cast, [other.pk])
        return agenda_placement(item_of(other))
    if name == "defer":
        return committee_hold(other.pk)
    if name == "complete_training":
        return attendance_facts(other)
    if name == "equipment_received":
        return equipment_receipt(other)
    return followup_progress(other)


@pytest.mark.parametrize("name", ["schedule", "defer", "complete_training", "equipment_received", "close"])
def test_a_fact_about_another_file_is_refused(name, make_project, cast):
    source, who, code, fact = FACT_GUARDS[name]
    project, other = make_project(source), make_project(source)
    handed = _another_files_fact(name, project, other, cast)
    error = _refusal(project, getattr(cast, who), name, {fact: handed})
    assert error.params["failures"] == [code]
    message = dict(error.failures)[code]
    assert "another file" in message or "does not hold this file" in message, message


def test_the_owning_apps_fact_lets_the_transition_through(make_project, cast):
    project = make_project("in_training")  # the program has no mandatory module
    _apply(project.pk, cast.officer, "complete_training", {F.ATTENDANCE: attendance_facts(project)})
    assert GrantProject.objects.get(pk=project.pk).state == "trained"


def test_a_facts_shortfall_is_the_guards_message(make_project, cast):
    project = make_project("funding")  # no purchase order yet
    receipt = equipment_receipt(project)
    assert not receipt.all_received
    error = _refusal(project, cast.officer, "equipment_received", {F.EQUIPMENT: receipt})
    assert error.failures == [("orders_not_received", receipt.pending)]
    assert "no purchase order" in receipt.pending


def test_an_abandonment_needs_no_finished_plan_but_still_the_plan_fact(make_project, cast):
    project = make_project("launched")
    with transaction.atomic():
        locked = GrantProject.objects.select_for_update().get(pk=project.pk)
        locked.outcome, locked.closure_reason = "abandoned", "Départ."
        with pytest.raises(GuardFailed) as caught:
            transition_project(locked, cast.officer, "close", fields=["outcome", "closure_reason"])
        assert caught.value.params["failures"] == ["followup_incomplete"]
        transition_project(locked, cast.officer, "close", fields=["outcome", "closure_reason"],
                           facts={F.FOLLOWUP: followup_progress(locked)})
    assert GrantProject.objects.get(pk=project.pk).state == "closed"


def test_a_look_alike_committee_fact_is_refused_like_a_missing_one(make_project, cast):
    project = make_project("in_committee")
    decide_in_session(project.pk, cast, "reject", close=False)
    look_alike = SimpleNamespace(project_id=project.pk, outcome="reject", outcome_label="reject",
                                 approved_amount=None, conditions="", reason="x", chair_id=cast.chair.pk,
                                 reference={"session": 1, "item": 1})
    error = _refusal(project, cast.chair, "decide_reject", {F.DECISION: look_alike, F.APPLIED_BY: cast.chair.pk})
    assert error.params["failures"] == ["no_session_decision"]


# --- The envelope's room (disbursements) ---------------------------------------------------


@pytest.fixture
def small_program(db):
    return Program.objects.create(code="envelope-room", name="Petit programme", year=2025,
                                  envelope=Decimal("100000.00"), project_ceiling=Decimal("60000.00"))


def _confirmed_approval(project, cast, amount):
    """The approval its open session confirmed on ``project``, as the close hands it in."""
    decide_in_session(project.pk, cast, "approve", amount, close=False)
    item = AgendaItem.objects.get(pk=item_of(project).pk)
    return closing_decisions(CommitteeSession.objects.get(pk=item.session_id), cast.chair, [item])[item.pk]


def _decide_refused(project, cast, decision, envelope):
    """``project_decide`` with a genuine decision and ``envelope``: refused, nothing changed
    (no state, no amount, no audit entry, no commitment)."""
    before = _snapshot(project.pk), EnvelopeEvent.objects.count()
    with pytest.raises(TamkeenError) as caught:
        services.project_decide(project_id=project.pk, actor=cast.chair, outcome="approve", decision=decision,
                                envelope=envelope)
    assert (_snapshot(project.pk), EnvelopeEvent.objects.count()) == before
    fresh = GrantProject.objects.get(pk=project.pk)
    assert (fresh.state, fresh.approved_amount) == ("in_committee", None)
    return caught.value


def test_a_missing_envelope_room_is_its_coded_refusal(make_project, cast):
    project = make_project("in_committee")
    error = _decide_refused(project, cast, _confirmed_approval(project, cast, "50000.00"), None)
    # Not a full envelope: one nobody measured.
    assert (error.code, error.params["failures"]) == ("guard_failed", ["envelope_unchecked"])
    assert "was not checked" in dict(error.failures)["envelope_unchecked"]


def test_a_hand_made_envelope_room_for_another_program_is_refused(make_project, cast, small_program):
    project = make_project("in_committee")
    roomy = F.EnvelopeRoom(program_id=small_program.pk, free=Decimal("1000000000.00"))
    error = _decide_refused(project, cast, _confirmed_approval(project, cast, "50000.00"), roomy)
    assert (error.code, error.params["failures"]) == ("guard_failed", ["envelope_unchecked"])
    assert "another program's envelope" in dict(error.failures)["envelope_unchecked"]


def test_an_approval_without_room_is_budget_exceeded_and_changes_nothing(make_project, cast, small_program):
    make_project("approved", program=small_program)  # 60,000.00 committed: 40,000.00 left
    project = make_project("in_committee", program=small_program)
    decision = _confirmed_approval(project, cast, "50000.00")
    room = envelope_room(small_program)
    assert room == F.EnvelopeRoom(program_id=small_program.pk, free=Decimal("40000.00"))
    for handed in (room, F.EnvelopeRoom(program_id=small_program.pk, free=Decimal("49999.99"))):
        error = _decide_refused(project, cast, decision, handed)
        assert (error.code, error.params["failures"]) == ("budget_exceeded", ["envelope_exceeded"])
        assert "no room left" in dict(error.failures)["envelope_exceeded"]


def test_the_envelope_guards_read_only_the_room_handed_in(make_project, cast, small_program):
    project = make_project("in_committee", program=small_program)
    decision = _confirmed_approval(project, cast, "50000.00")
    with transaction.atomic():
        locked = GrantProject.objects.select_for_update().get(pk=project.pk)
        locked.approved_amount = decision.approved_amount
        facts = {F.DECISION: decision, F.APPLIED_BY: cast.chair.pk}
        exactly_enough = F.EnvelopeRoom(program_id=small_program.pk, free=Decimal("50000.00"))
        check_transition(locked, "decide_approve", facts={**facts, F.ENVELOPE: exactly_enough})
        # Something shaped like a room is not the envelope's room.
        look_alike = SimpleNamespace(program_id=small_program.pk, free=Decimal("1000000000.00"))
        with pytest.raises(GuardFailed) as caught:
            check_transition(locked, "decide_approve", facts={**facts, F.ENVELOPE: look_alike})
        assert caught.value.params["failures"] == ["envelope_unchecked"]
