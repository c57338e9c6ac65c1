"""DESIGN.md §3: a file reaches the committee only by being put on a session's agenda
(``schedule``), and the committee's decision (``decide_*``) applies only when the chair
closes the session that confirmed it. The project services accept only what the
committee hands them (``approvals.facts``): calling them directly — an officer
scheduling without an agenda placement, a chair deciding without the closing session's
decision, with another file's decision or someone else's, with a look-alike built by
hand — is refused with a coded error and changes nothing: no state, no amount, no
envelope commitment, no audit entry.
"""

import dataclasses
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction

from approvals import services as committee
from approvals.facts import (
    ConfirmedDecision,
    SessionHold,
    SessionPlacement,
    agenda_placement,
    closing_decisions,
    committee_hold,
)
from approvals.models import AgendaItem, CommitteeSession
from core.exceptions import TamkeenError
from core.roles import Role
from demo.scenarios import decide_in_session, plan_session
from disbursements.models import EnvelopeEvent
from ledger.models import AuditEntry
from tests._committee_support import chain, entries, fresh_project, held_by_no_session, item_of
from workflow import services
from workflow.facts import AgendaPlacement, CommitteeDecision, CommitteeHold
from workflow.models import GrantProject
from workflow.services import transition_project

REASON = "Motif consigné au dossier."


def _everything():
    return {
        "projects": list(GrantProject.objects.order_by("pk").values()),
        "items": list(AgendaItem.objects.order_by("pk").values()),
        "audit": AuditEntry.objects.count(),
        "envelope": EnvelopeEvent.objects.count(),
    }


def _refused(call, *, failure):
    """``call`` must raise guard_failed for ``failure`` alone and change nothing."""
    before = _everything()
    with pytest.raises(TamkeenError) as caught:
        call()
    assert caught.value.code == "guard_failed", caught.value.as_dict()
    assert caught.value.params["failures"] == [failure]
    assert caught.value.field_errors["__all__"] and all(m.strip() for m in caught.value.field_errors["__all__"])
    assert _everything() == before
    return caught.value


# --- schedule ---------------------------------------------------------------------------


def test_an_officer_cannot_schedule_a_file_without_an_agenda_item(make_project, cast):
    project = make_project("eligible")
    error = _refused(lambda: services.project_schedule(project_id=project.pk, actor=cast.officer),
                     failure="not_on_agenda")
    assert error.params["transition"] == "schedule"
    assert fresh_project(project).state == "eligible"


@dataclasses.dataclass(frozen=True)
class HandMadePlacement(AgendaPlacement):
    project_id: int
    program_id: int
    reference: dict


@pytest.mark.parametrize("forged", ["item id", "look-alike", "subclass"])
def test_a_placement_the_committee_did_not_make_is_refused(forged, make_project, cast):
    project = make_project("eligible")
    fields = {"project_id": project.pk, "program_id": project.program_id, "reference": {"session": 1, "item": 1}}
    placement = {"item id": 1, "look-alike": SimpleNamespace(**fields), "subclass": HandMadePlacement(**fields)}
    _refused(lambda: services.project_schedule(project_id=project.pk, actor=cast.officer,
                                               placement=placement[forged]), failure="not_on_agenda")


def test_another_files_or_a_removed_agenda_item_does_not_schedule_a_file(make_project, cast):
    held = make_project("in_committee")
    project = make_project("eligible")
    error = _refused(lambda: services.project_schedule(project_id=project.pk, actor=cast.officer,
                                                       placement=agenda_placement(item_of(held))),
                     failure="not_on_agenda")
    assert "does not hold this file" in error.field_errors["__all__"][0]

    item = item_of(held)
    committee.session_remove_item(session_id=item.session_id, item_id=item.pk, actor=cast.officer, reason=REASON)
    assert fresh_project(held).state == "eligible"
    item.refresh_from_db()
    assert agenda_placement(item) is None  # off the agenda: nothing places the file
    _refused(lambda: services.project_schedule(project_id=held.pk, actor=cast.officer,
                                               placement=agenda_placement(item)), failure="not_on_agenda")


def test_a_non_officer_is_refused_for_the_permission_first(make_project, cast):
    project = make_project("eligible")
    before = _everything()
    with pytest.raises(TamkeenError) as caught:
        services.project_schedule(project_id=project.pk, actor=cast.chair)
    assert caught.value.code == "permission_denied"
    assert _everything() == before


def test_the_agenda_schedules_the_file_and_the_entry_names_the_session_and_item(make_project, cast):
    project = make_project("eligible")
    session = plan_session(project.program, cast, [project.pk])
    item = item_of(project)
    entry = entries(project)[-1]
    assert (entry.transition, entry.actor_id, entry.payload) == (
        "schedule", cast.officer.pk, {"session": session.pk, "item": item.pk})


# --- decide -----------------------------------------------------------------------------


@pytest.mark.parametrize("outcome", ["approve", "revise", "reject"])
def test_a_chair_cannot_decide_directly(outcome, make_project, cast):
    project = make_project("in_committee")
    _refused(lambda: services.project_decide(project_id=project.pk, actor=cast.chair, outcome=outcome),
             failure="no_session_decision")
    # Not even with a copy of the item's confirmed decision, while its session is open.
    decide_in_session(project.pk, cast, outcome, close=False)
    item = item_of(project)
    copy = SimpleNamespace(
        project_id=project.pk, outcome=outcome, outcome_label=outcome, approved_amount=item.approved_amount,
        conditions=item.conditions, reason=item.reason, chair_id=cast.chair.pk,
        reference={"session": item.session_id, "item": item.pk},
    )
    error = _refused(lambda: services.project_decide(project_id=project.pk, actor=cast.chair, outcome=outcome,
                                                     decision=copy),
                     failure="no_session_decision")
    assert error.params["transition"] == f"decide_{outcome}"
    assert (fresh_project(project).state, fresh_project(project).approved_amount) == ("in_committee", None)


@dataclasses.dataclass(frozen=True)
class HandMadeDecision(CommitteeDecision):
    project_id: int
    outcome: str
    outcome_label: str
    approved_amount: Decimal | None
    conditions: str
    reason: str
    chair_id: int
    reference: dict


def test_a_decision_built_by_hand_is_refused(make_project, cast):
    project = make_project("in_committee")
    decide_in_session(project.pk, cast, "approve", "50000.00", close=False)
    item = item_of(project)
    fields = {"project_id": project.pk, "outcome": "approve", "outcome_label": "approve",
              "approved_amount": Decimal("50000.00"), "conditions": "", "reason": "", "chair_id": cast.chair.pk,
              "reference": {"session": item.session_id, "item": item.pk}}
    # A subclass of workflow's declaration is not the committee's decision…
    error = _refused(lambda: services.project_decide(project_id=project.pk, actor=cast.chair, outcome="approve",
                                                     decision=HandMadeDecision(**fields)),
                     failure="no_session_decision")
    assert "closes the session" in error.field_errors["__all__"][0]
    # …and the committee's own class cannot be built outside approvals.facts.
    with pytest.raises(TypeError):
        ConfirmedDecision(**fields)
    with pytest.raises(TypeError):
        SessionPlacement(project_id=project.pk, program_id=project.program_id, reference={})
    with pytest.raises(TypeError):
        SessionHold(project_id=project.pk, held_by="", reference={})
    assert EnvelopeEvent.objects.filter(project=project).count() == 0


@pytest.mark.parametrize("kind", [AgendaPlacement, CommitteeHold, CommitteeDecision])
def test_no_other_class_can_be_registered_as_the_committees_facts(kind):
    impostor = type("Impostor", (kind,), {})
    with pytest.raises(ImproperlyConfigured):
        kind.implemented_by(impostor)
    assert not kind.is_genuine(impostor())


def test_setting_the_state_machine_directly_is_refused_by_the_transition_itself(make_project, cast):
    project = make_project("in_committee")
    before = _everything()
    with pytest.raises(TamkeenError) as caught, transaction.atomic():
        locked = GrantProject.objects.select_for_update().get(pk=project.pk)
        locked.approved_amount = locked.requested_amount
        transition_project(locked, cast.chair, "decide_approve", fields=["approved_amount"])
    assert caught.value.code == "guard_failed"
    assert "no_session_decision" in caught.value.params["failures"]
    assert _everything() == before


@pytest.fixture
def two_open_sessions(make_project, cast):
    """Two files, each on its own open session with a confirmed approval (not closed)."""
    one, two = make_project("in_committee"), make_project("in_committee")
    for project in (one, two):
        decide_in_session(project.pk, cast, "approve", "50000.00", close=False)
    return one, two


def _decision_of(item, chair):
    """The decision on ``item`` its session's close hands to the project services."""
    session = CommitteeSession.objects.get(pk=item.session_id)
    return closing_decisions(session, chair, [AgendaItem.objects.get(pk=item.pk)])[item.pk]


def test_a_decision_for_another_files_item_is_refused(two_open_sessions, cast):
    one, two = two_open_sessions
    decision = _decision_of(item_of(two), cast.chair)
    error = _refused(lambda: services.project_decide(
        project_id=one.pk, actor=cast.chair, outcome="approve", decision=decision),
        failure="no_session_decision")
    assert "another file" in error.field_errors["__all__"][0]


def test_decisions_are_built_only_for_an_open_session_and_its_chair(make_project, cast, make_user):
    project = make_project("in_committee")
    item = item_of(project)
    planned = CommitteeSession.objects.get(pk=item.session_id)
    with pytest.raises(TamkeenError) as caught:
        closing_decisions(planned, cast.chair, [item])
    assert caught.value.code == "transition_not_allowed"
    decide_in_session(project.pk, cast, "approve", "50000.00", close=False)
    intruder = make_user(Role.COMMITTEE_CHAIR, Role.COMMITTEE_MEMBER)
    with pytest.raises(TamkeenError) as caught:
        _decision_of(item, intruder)
    assert caught.value.code == "not_a_member"


def test_an_outcome_other_than_the_confirmed_one_is_refused(two_open_sessions, cast):
    one, _two = two_open_sessions
    decision = _decision_of(item_of(one), cast.chair)
    error = _refused(lambda: services.project_decide(
        project_id=one.pk, actor=cast.chair, outcome="reject", decision=decision),
        failure="no_session_decision")
    assert "approve" in error.field_errors["__all__"][0]


def test_another_chair_cannot_apply_the_sessions_decision(two_open_sessions, cast, make_user):
    one, _two = two_open_sessions
    intruder = make_user(Role.COMMITTEE_CHAIR, Role.COMMITTEE_MEMBER)
    error = _refused(lambda: services.project_decide(
        project_id=one.pk, actor=intruder, outcome="approve", decision=_decision_of(item_of(one), cast.chair)),
        failure="no_session_decision")
    assert "Only the chair" in error.field_errors["__all__"][0]


def test_an_unconfirmed_decision_is_refused(make_project, cast):
    project = make_project("in_committee")
    item = item_of(project)
    committee.session_record_attendance(session_id=item.session_id, actor=cast.officer,
                                        present_user_ids=[cast.chair.pk])
    committee.session_open(session_id=item.session_id, actor=cast.chair)
    session = CommitteeSession.objects.get(pk=item.session_id)
    decisions = closing_decisions(session, cast.chair, [AgendaItem.objects.get(pk=item.pk)])
    assert item.pk not in decisions
    _refused(lambda: services.project_decide(project_id=project.pk, actor=cast.chair, outcome="approve",
                                             decision=decisions.get(item.pk)),
             failure="no_session_decision")


def test_the_close_applies_the_decision_with_its_reference(make_project, cast):
    project = make_project("in_committee")
    session = decide_in_session(project.pk, cast, "approve", "50000.00")
    item = AgendaItem.objects.get(project=project)
    entry = entries(project)[-1]
    assert (entry.transition, entry.actor_id) == ("decide_approve", cast.chair.pk)
    assert entry.payload == {"outcome": "approve", "amount": "50000.00", "conditions": "",
                             "decision": f"session:{session.pk}/item:{item.pk}"}
    assert EnvelopeEvent.objects.filter(project=project, kind="commit").count() == 1


# --- defer ------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["officer", "chair"])
def test_a_direct_deferral_is_refused_while_a_session_holds_the_file(who, make_project, cast):
    project = make_project("in_committee")
    actor = getattr(cast, who)
    # Without the committee's word on it…
    _refused(lambda: services.project_defer(project_id=project.pk, actor=actor, reason=REASON),
             failure="on_session_agenda")
    # …or with it: a planned session holds the file.
    error = _refused(lambda: services.project_defer(project_id=project.pk, actor=actor, reason=REASON,
                                                    hold=committee_hold(project.pk)),
                     failure="on_session_agenda")
    assert item_of(project).session.title in error.field_errors["__all__"][0]
    decide_in_session(project.pk, cast, "approve", close=False)  # open: still held
    _refused(lambda: services.project_defer(project_id=project.pk, actor=cast.chair, reason=REASON,
                                            hold=committee_hold(project.pk)),
             failure="on_session_agenda")


def test_a_hold_built_by_hand_or_for_another_file_is_refused(make_project, cast):
    project = held_by_no_session(make_project("in_committee"), cast)
    other = held_by_no_session(make_project("in_committee"), cast)
    error = _refused(lambda: services.project_defer(project_id=project.pk, actor=cast.chair, reason=REASON,
                                                    hold=committee_hold(other.pk)),
                     failure="on_session_agenda")
    assert "another file" in error.field_errors["__all__"][0]
    look_alike = SimpleNamespace(project_id=project.pk, held_by="", reference={})
    _refused(lambda: services.project_defer(project_id=project.pk, actor=cast.chair, reason=REASON,
                                            hold=look_alike),
             failure="on_session_agenda")


def test_a_file_no_session_holds_any_more_is_deferred_directly(make_project, cast):
    project = held_by_no_session(make_project("in_committee"), cast)
    assert project.state == "in_committee"
    services.project_defer(project_id=project.pk, actor=cast.chair, reason=REASON, hold=committee_hold(project.pk))
    assert fresh_project(project).state == "eligible"
    assert entries(project)[-1].payload == {"reason": REASON}
    # …and it can go to a new session's agenda.
    plan_session(project.program, cast, [project.pk])
    assert fresh_project(project).state == "in_committee"


def test_a_session_without_quorum_defers_the_file_with_its_reference(make_project, cast):
    project = make_project("in_committee")
    item = item_of(project)
    committee.session_record_attendance(session_id=item.session_id, actor=cast.officer, present_user_ids=[])
    committee.session_open(session_id=item.session_id, actor=cast.chair)
    committee.item_confirm_decision(item_id=item.pk, actor=cast.chair)
    committee.session_close(session_id=item.session_id, actor=cast.chair)
    assert chain(project)[-1] == ("defer", "in_committee", "eligible")
    entry = entries(project)[-1]
    assert (entry.actor_id, entry.payload["session"], entry.payload["item"]) == (
        cast.chair.pk, item.session_id, item.pk)


def test_a_file_taken_off_the_agenda_is_deferred_with_the_session_reference(make_project, cast):
    project = make_project("in_committee")
    item = item_of(project)
    committee.session_remove_item(session_id=item.session_id, item_id=item.pk, actor=cast.officer, reason=REASON)
    assert entries(project)[-1].payload == {"reason": REASON, "session": item.session_id, "item": item.pk}


def test_a_session_of_another_programs_committee_cannot_take_the_file(make_project, cast, program):
    from workflow.models import Program

    other = Program.objects.create(code="autre", name="Autre programme", year=2025,
                                   envelope=program.envelope, project_ceiling=program.project_ceiling)
    session = plan_session(other, cast)
    project = make_project("eligible")
    before = _everything()
    with pytest.raises(TamkeenError) as caught:
        committee.session_add_item(session_id=session.pk, project_id=project.pk, actor=cast.officer)
    assert caught.value.code == "invalid_input"
    assert _everything() == before
