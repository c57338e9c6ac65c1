"""DESIGN.md §3: a file reaches the committee only by being put on a session's agenda
(``schedule``), and the committee's decision (``decide_*``) applies only when the chair
closes the session that confirmed it. Calling the project services directly — an officer
scheduling without an agenda item, a chair deciding outside a closing session, with
another file's decision, another session's, or someone else's — is refused with a coded
error and changes nothing: no state, no amount, no envelope commitment, no audit entry.
"""

import pytest
from django.db import transaction

from approvals import services as committee
from approvals.models import AgendaItem
from core.exceptions import TamkeenError
from core.roles import Role
from core.transactions import within_caller_transaction
from demo.scenarios import decide_in_session, plan_session
from disbursements.models import EnvelopeEvent
from ledger.models import AuditEntry
from tests._committee_support import chain, entries, fresh_project, held_by_no_session, item_of
from workflow import services
from workflow.models import GrantProject
from workflow.models.project import session_closing
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


@pytest.mark.parametrize("agenda_item_id", ["abc", 987654, None, ""])
def test_a_missing_or_malformed_agenda_item_is_refused(agenda_item_id, make_project, cast):
    project = make_project("eligible")
    _refused(lambda: services.project_schedule(project_id=project.pk, actor=cast.officer,
                                               agenda_item_id=agenda_item_id), failure="not_on_agenda")


def test_another_files_or_a_removed_agenda_item_does_not_schedule_a_file(make_project, cast):
    held = make_project("in_committee")
    project = make_project("eligible")
    error = _refused(lambda: services.project_schedule(project_id=project.pk, actor=cast.officer,
                                                       agenda_item_id=item_of(held).pk), failure="not_on_agenda")
    assert "does not hold this file" in error.field_errors["__all__"][0]

    item = item_of(held)
    committee.session_remove_item(session_id=item.session_id, item_id=item.pk, actor=cast.officer, reason=REASON)
    assert fresh_project(held).state == "eligible"
    _refused(lambda: services.project_schedule(project_id=held.pk, actor=cast.officer, agenda_item_id=item.pk),
             failure="not_on_agenda")


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
    # Not even with the item's confirmed decision, while its session is open but not closing.
    decide_in_session(project.pk, cast, outcome, close=False)
    error = _refused(lambda: services.project_decide(project_id=project.pk, actor=cast.chair, outcome=outcome,
                                                     agenda_item_id=item_of(project).pk),
                     failure="no_session_decision")
    assert error.params["transition"] == f"decide_{outcome}"
    assert (fresh_project(project).state, fresh_project(project).approved_amount) == ("in_committee", None)


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


def _within_close_of(item, chair, call):
    """Run ``call`` as a close of ``item``'s session by ``chair`` would."""
    def run():
        with transaction.atomic(), within_caller_transaction(), session_closing(item.session_id, chair.pk):
            call()
    return run


def test_a_decision_for_another_files_item_is_refused(two_open_sessions, cast):
    one, two = two_open_sessions
    other_item = item_of(two)
    error = _refused(_within_close_of(other_item, cast.chair, lambda: services.project_decide(
        project_id=one.pk, actor=cast.chair, outcome="approve", agenda_item_id=other_item.pk)),
        failure="no_session_decision")
    assert "another file" in error.field_errors["__all__"][0]


def test_a_decision_of_a_session_not_being_closed_is_refused(two_open_sessions, cast):
    one, two = two_open_sessions
    error = _refused(_within_close_of(item_of(two), cast.chair, lambda: services.project_decide(
        project_id=one.pk, actor=cast.chair, outcome="approve", agenda_item_id=item_of(one).pk)),
        failure="no_session_decision")
    assert "not the one being closed" in error.field_errors["__all__"][0]


def test_an_outcome_other_than_the_confirmed_one_is_refused(two_open_sessions, cast):
    one, _two = two_open_sessions
    item = item_of(one)
    error = _refused(_within_close_of(item, cast.chair, lambda: services.project_decide(
        project_id=one.pk, actor=cast.chair, outcome="reject", agenda_item_id=item.pk)),
        failure="no_session_decision")
    assert "approve" in error.field_errors["__all__"][0]


def test_another_chair_cannot_apply_the_sessions_decision(two_open_sessions, cast, make_user):
    one, _two = two_open_sessions
    item = item_of(one)
    intruder = make_user(Role.COMMITTEE_CHAIR, Role.COMMITTEE_MEMBER)
    # Claiming the close for themselves, or acting under the real chair's close.
    for closing_chair in (intruder, cast.chair):
        error = _refused(_within_close_of(item, closing_chair, lambda: services.project_decide(
            project_id=one.pk, actor=intruder, outcome="approve", agenda_item_id=item.pk)),
            failure="no_session_decision")
        assert "Only the chair" in error.field_errors["__all__"][0]


def test_an_unconfirmed_decision_is_refused(make_project, cast):
    project = make_project("in_committee")
    item = item_of(project)
    committee.session_record_attendance(session_id=item.session_id, actor=cast.officer,
                                        present_user_ids=[cast.chair.pk])
    committee.session_open(session_id=item.session_id, actor=cast.chair)
    error = _refused(_within_close_of(item, cast.chair, lambda: services.project_decide(
        project_id=project.pk, actor=cast.chair, outcome="approve", agenda_item_id=item.pk)),
        failure="no_session_decision")
    assert "not confirmed" in error.field_errors["__all__"][0]


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
    error = _refused(lambda: services.project_defer(project_id=project.pk, actor=getattr(cast, who), reason=REASON),
                     failure="on_session_agenda")
    assert item_of(project).session.title in error.field_errors["__all__"][0]
    decide_in_session(project.pk, cast, "approve", close=False)  # open: still held
    _refused(lambda: services.project_defer(project_id=project.pk, actor=cast.chair, reason=REASON),
             failure="on_session_agenda")


def test_a_file_no_session_holds_any_more_is_deferred_directly(make_project, cast):
    project = held_by_no_session(make_project("in_committee"), cast)
    assert project.state == "in_committee"
    services.project_defer(project_id=project.pk, actor=cast.chair, reason=REASON)
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
