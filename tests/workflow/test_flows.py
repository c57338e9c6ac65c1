"""GrantFlow follows the project: started by submission, advanced by the lifecycle
services wherever they are called from, ended or cancelled with the file.

The services notify the flow in ``transaction.on_commit``; tests run inside a test
transaction, so each step runs under ``committed()``, which executes the callbacks
as a real commit would.
"""

import logging

import pytest
from viewflow.workflow import PROCESS, STATUS

from approvals import services as committee
from config.site import my_tasks
from demo.scenarios import decide_in_session, plan_session
from tests._committee_support import item_of
from workflow import services
from workflow.flows import GrantFlow, GrantProcess, process_for
from workflow.models import GrantProject

pytestmark = pytest.mark.django_db


def task_trail(process):
    """(node name, status) of every task of ``process``, in creation order."""
    return [(t.flow_task.name, t.status) for t in process.task_set.order_by("pk")]


def open_tasks(process):
    return [t.flow_task.name for t in process.task_set.filter(status__in=(STATUS.NEW, STATUS.ASSIGNED))]


def test_a_draft_has_no_process(make_project, committed):
    with committed():
        project = make_project("draft")
    assert process_for(project) is None


def test_submission_starts_one_process_waiting_for_screening(make_project, committed):
    with committed():
        project = make_project("submitted")

    process = process_for(project)
    assert GrantProcess.objects.for_project(project).count() == 1
    assert process.project == project
    assert process.status == PROCESS.NEW
    assert task_trail(process) == [("start", STATUS.DONE), ("screening", STATUS.NEW)]
    screening = process.task_set.get(flow_task=GrantFlow.screening)
    assert screening.owner_permission == "workflow.screen_project"
    assert screening.owner_id is None


def test_screening_task_is_in_a_program_officers_inbox_not_an_agents(make_project, cast, committed):
    with committed():
        project = make_project("submitted")
    screening = process_for(project).task_set.get(flow_task=GrantFlow.screening)

    assert list(my_tasks(GrantFlow, cast.officer)) == [screening]
    assert list(my_tasks(GrantFlow, cast.agent)) == []
    assert list(my_tasks(GrantFlow, cast.chair)) == []


def test_returned_and_resubmitted_file_keeps_its_process_and_is_screened_again(
    make_project, cast, committed
):
    with committed():
        project = make_project("submitted")
    with committed():
        services.project_return_docs(project_id=project.pk, actor=cast.officer, reason="CIN copy unreadable.")

    process = process_for(project)
    assert open_tasks(process) == ["await_resubmission"]
    screening = process.task_set.get(flow_task=GrantFlow.screening)
    assert screening.owner == cast.officer
    assert screening.data["completed_elsewhere"] is True

    with committed():
        services.project_submit(project_id=project.pk, actor=cast.agent)

    assert GrantProcess.objects.for_project(project).count() == 1
    assert [name for name, _status in task_trail(process)] == [
        "start", "screening", "screening_outcome", "await_resubmission", "screening",
    ]
    assert open_tasks(process) == ["screening"]


def test_committee_decision_advances_when_the_service_is_called_elsewhere(make_project, cast, committed):
    with committed():
        project = make_project("in_committee")
    process = process_for(project)
    assert open_tasks(process) == ["committee_decision"]

    with committed():
        decide_in_session(project.pk, cast, "approve", "50000.00")  # the chair closes the session

    decision = process.task_set.get(flow_task=GrantFlow.committee_decision)
    assert decision.status == STATUS.DONE
    assert decision.owner == cast.chair
    assert decision.data == {"transition": "decide_approve", "state": "approved"}
    assert open_tasks(process) == ["await_enrolment"]


def test_schedule_and_defer_do_not_move_the_process(make_project, cast, committed):
    with committed():
        project = make_project("in_committee")
        item = item_of(project)
        committee.session_remove_item(session_id=item.session_id, item_id=item.pk, actor=cast.officer,
                                      reason="Dossier incomplet pour cette séance.")
    assert GrantProject.objects.get(pk=project.pk).state == "eligible"
    assert open_tasks(process_for(project)) == ["committee_decision"]


def test_an_ineligible_result_ends_the_process(make_project, committed):
    with committed():
        project = make_project("ineligible")

    process = GrantProcess.objects.get(pk=process_for(project).pk)
    assert process.status == STATUS.DONE
    assert process.finished is not None
    assert open_tasks(process) == []
    assert task_trail(process)[-1] == ("end_ineligible", STATUS.DONE)


def test_a_rejection_ends_the_process(make_project, committed):
    with committed():
        project = make_project("rejected")

    process = GrantProcess.objects.get(pk=process_for(project).pk)
    assert process.status == STATUS.DONE
    assert task_trail(process)[-1] == ("end_rejected", STATUS.DONE)


def test_a_revision_loops_back_to_screening_in_the_same_process(make_project, cast, committed):
    with committed():
        project = make_project("revision_requested")
    process = process_for(project)
    assert open_tasks(process) == ["await_resubmission"]

    with committed():
        services.project_resubmit(project_id=project.pk, actor=cast.agent)

    assert open_tasks(process) == ["screening"]
    assert GrantProcess.objects.for_project(project).count() == 1


def test_withdrawal_cancels_the_process_and_its_open_task(make_project, cast, committed):
    with committed():
        project = make_project("submitted")
        services.project_withdraw(project_id=project.pk, actor=cast.agent, reason="Moved away.")

    process = GrantProcess.objects.get(pk=process_for(project).pk)
    assert process.status == PROCESS.CANCELED
    assert process.data["aborted_by"] == "withdraw"
    assert process.task_set.get(flow_task=GrantFlow.screening).status == STATUS.CANCELED
    assert open_tasks(process) == []
    assert list(my_tasks(GrantFlow, cast.officer)) == []


def test_suspension_leaves_the_open_task_in_place(make_project, cast, committed):
    with committed():
        project = make_project("in_training")
        services.project_suspend(project_id=project.pk, actor=cast.officer, reason="Verification.")
        services.project_resume(project_id=project.pk, actor=cast.officer)
    assert open_tasks(process_for(project)) == ["training_signoff"]


def test_the_process_follows_the_whole_life_to_closure(make_project, cast, committed):
    with committed():
        project = make_project("closed")

    process = GrantProcess.objects.get(pk=process_for(project).pk)
    assert process.status == STATUS.DONE
    assert [name for name, _status in task_trail(process)] == [
        "start", "screening", "screening_outcome", "committee_decision", "decision_outcome",
        "await_enrolment", "training_signoff", "await_funding", "await_equipment", "launch",
        "closure", "end_closed",
    ]
    assert {status for _name, status in task_trail(process)} == {STATUS.DONE}
    owners = {t.flow_task.name: t.owner for t in process.task_set.all()}
    assert owners["launch"] == cast.mentor
    assert owners["await_funding"] == cast.finance


def test_training_signoff_is_assigned_to_the_officer_who_screened(make_project, cast, committed):
    with committed():
        project = make_project("in_training")
    signoff = process_for(project).task_set.get(flow_task=GrantFlow.training_signoff)
    assert signoff.status == STATUS.ASSIGNED
    assert signoff.owner == cast.officer


def test_a_flow_failure_does_not_undo_the_committed_transition(
    make_project, cast, committed, monkeypatch, caplog
):
    with committed():
        project = make_project("submitted")

    def broken(*args, **kwargs):
        raise RuntimeError("flow store unavailable")

    monkeypatch.setattr("workflow.flows.follow", broken)
    with caplog.at_level(logging.ERROR, logger="workflow.flows"), committed():
        services.project_screen(project_id=project.pk, actor=cast.officer)

    assert GrantProject.objects.get(pk=project.pk).state == "eligible"
    assert "could not follow screen_ok" in caplog.text


@pytest.mark.django_db(transaction=True)
def test_with_real_commits_the_web_screening_moves_the_process(reference_data, make_project, cast, client):
    """No captured callbacks: services and task views really commit, as in production."""
    project = make_project("submitted")
    process = process_for(project)
    task = process.task_set.get(flow_task=GrantFlow.screening)
    client.force_login(cast.officer)

    client.post(f"/grant/{process.pk}/screening/{task.pk}/assign/")
    response = client.post(f"/grant/{process.pk}/screening/{task.pk}/execute/", {"decision": "screen"})

    assert response.status_code == 302
    assert GrantProject.objects.get(pk=project.pk).state == "eligible"
    assert open_tasks(process) == ["committee_decision"]
    plan_session(project.program, cast, [project.pk])
    decide_in_session(project.pk, cast, "reject", "Weak.")
    assert GrantProcess.objects.get(pk=process.pk).status == STATUS.DONE
