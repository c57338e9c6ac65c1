"""GrantFlow runs the people's work on a file: started by submission, each step a task
in the right inbox, completed by the transition it waits for in that transition's own
transaction — whatever screen, command or scenario made it — and paused, resumed or
cancelled with the file."""

import pytest
from django.db import transaction
from viewflow.workflow import PROCESS, STATUS

from demo.scenarios import decide_in_session, plan_session
from workflow import engine, services
from workflow.flows import GrantFlow, GrantProcess, process_for
from workflow.inbox import inbox_tasks
from workflow.models import GrantProject

pytestmark = pytest.mark.django_db


def task_trail(process):
    """(node name, status) of every task of ``process``, in creation order."""
    return [(t.flow_task.name, t.status) for t in process.task_set.order_by("pk")]


def open_tasks(process):
    return [t.flow_task.name for t in process.task_set.filter(status__in=engine.OPEN).order_by("pk")]


def open_task(process, name):
    return process.task_set.get(flow_task=getattr(GrantFlow, name), status__in=engine.OPEN)


def test_a_draft_has_no_process(make_project):
    assert process_for(make_project("draft")) is None


def test_submission_starts_one_process_waiting_for_screening(make_project):
    project = make_project("submitted")

    process = process_for(project)
    assert GrantProcess.objects.for_project(project).count() == 1
    assert process.project == project
    assert process.status == PROCESS.NEW
    assert process.data["project_id"] == project.pk and process.data["program_id"] == project.program_id
    assert task_trail(process) == [("start", STATUS.DONE), ("screening", STATUS.NEW)]
    screening = open_task(process, "screening")
    assert screening.owner_permission == "workflow.screen_project"
    assert screening.owner_id is None


def test_the_screening_task_is_in_a_program_officers_inbox_not_an_agents(make_project, cast):
    project = make_project("submitted")
    screening = open_task(process_for(project), "screening")

    assert list(inbox_tasks(cast.officer)) == [screening]
    assert list(inbox_tasks(cast.agent)) == []


def test_a_returned_file_waits_for_the_agent_who_submitted_it_then_is_screened_again(make_project, cast):
    project = make_project("submitted")
    services.project_return_docs(project_id=project.pk, actor=cast.officer, reason="CIN copy unreadable.")
    process = process_for(project)

    resubmission = open_task(process, "resubmission")
    assert resubmission.status == STATUS.ASSIGNED and resubmission.owner == cast.agent
    assert list(inbox_tasks(cast.agent)) == [resubmission]

    services.project_submit(project_id=project.pk, actor=cast.agent)
    assert GrantProcess.objects.for_project(project).count() == 1
    assert open_tasks(process) == ["screening"]
    assert process.task_set.get(pk=resubmission.pk).owner == cast.agent


def test_an_eligible_file_waits_to_be_put_on_an_agenda_then_for_the_committee(make_project, cast):
    project = make_project("eligible")
    process = process_for(project)
    agenda = open_task(process, "agenda")
    assert agenda.owner_permission == "workflow.schedule_project"
    assert agenda in list(inbox_tasks(cast.officer))

    plan_session(project.program, cast, [project.pk])

    assert open_tasks(process) == ["committee_decision"]
    assert process.task_set.get(pk=agenda.pk).owner == cast.officer
    # The committee's decision is no one's task in the file's flow.
    assert not [t for t in inbox_tasks(cast.chair) if t.process_id == process.pk]


def test_the_committee_decision_opens_the_enrolment_for_the_officer_who_screened(make_project, cast):
    project = make_project("in_committee")
    decide_in_session(project.pk, cast, "approve")

    process = process_for(project)
    enrolment = open_task(process, "enrolment")
    assert enrolment.owner == cast.officer
    decision = process.task_set.get(flow_task=GrantFlow.committee_decision)
    assert decision.status == STATUS.DONE and decision.data["transition"] == "decide_approve"


def test_a_file_taken_off_the_agenda_goes_back_to_the_agenda_step(make_project, cast):
    from approvals import services as committee
    from approvals.models import AgendaItem

    project = make_project("in_committee")
    item = AgendaItem.objects.get(project=project)
    committee.session_remove_item(session_id=item.session_id, item_id=item.pk, actor=cast.officer,
                                  reason="Missing quote.")
    assert open_tasks(process_for(project)) == ["agenda"]


def test_an_ineligible_result_ends_the_process(make_project):
    project = make_project("ineligible")
    process = GrantProcess.objects.get(pk=process_for(project).pk)
    assert process.status == STATUS.DONE
    assert task_trail(process)[-1] == ("end_ineligible", STATUS.DONE)


def test_a_rejection_ends_the_process(make_project):
    project = make_project("rejected")
    process = GrantProcess.objects.get(pk=process_for(project).pk)
    assert process.status == STATUS.DONE
    assert task_trail(process)[-1] == ("end_rejected", STATUS.DONE)


def test_a_revision_waits_for_the_agents_resubmission_then_screening(make_project, cast):
    project = make_project("revision_requested")
    process = process_for(project)
    assert open_tasks(process) == ["resubmission"]

    services.project_resubmit(project_id=project.pk, actor=cast.agent)

    assert open_tasks(process) == ["screening"]
    names = [name for name, _status in task_trail(process)]
    assert names.count("screening") == 2


def test_withdrawal_cancels_the_process_and_its_open_task(make_project, cast):
    project = make_project("eligible")
    services.project_withdraw(project_id=project.pk, actor=cast.agent, reason="Moved away.")

    process = GrantProcess.objects.get(pk=process_for(project).pk)
    assert process.status == PROCESS.CANCELED
    assert process.data["aborted_by"] == "withdraw"
    assert open_tasks(process) == []
    assert list(inbox_tasks(cast.officer)) == []


def test_suspension_pauses_the_open_task_and_resumption_brings_it_back(make_project, cast):
    project = make_project("in_training")
    process = process_for(project)
    before = open_task(process, "training_signoff")

    services.project_suspend(project_id=project.pk, actor=cast.officer, reason="Verification.")
    assert open_tasks(process) == []
    assert list(inbox_tasks(cast.officer)) == []
    assert process.task_set.get(pk=before.pk).data["paused_by"] == "suspend"

    services.project_resume(project_id=project.pk, actor=cast.officer)
    after = open_task(process, "training_signoff")
    assert after.pk != before.pk
    assert after.owner == cast.officer and after.owner_permission == "workflow.complete_training"
    assert list(inbox_tasks(cast.officer)) == [after]
    # A second suspension and resumption does not bring the first task back twice.
    services.project_suspend(project_id=project.pk, actor=cast.officer, reason="Again.")
    services.project_resume(project_id=project.pk, actor=cast.officer)
    assert open_tasks(process) == ["training_signoff"]


def test_the_process_follows_the_whole_life_to_closure(make_project, cast):
    project = make_project("closed")

    process = GrantProcess.objects.get(pk=process_for(project).pk)
    assert process.status == STATUS.DONE
    assert [name for name, _status in task_trail(process)] == [
        "start", "screening", "screening_outcome", "agenda", "committee_decision", "decision_outcome",
        "enrolment", "training_signoff", "funding", "procurement", "equipment_delivery", "equipment_check",
        "launch", "closure", "end_closed",
    ]
    assert {status for _name, status in task_trail(process)} == {STATUS.DONE}
    owners = {t.flow_task.name: t.owner for t in process.task_set.all()}
    assert owners["launch"] == cast.mentor
    assert owners["funding"] == cast.finance
    assert owners["enrolment"] == cast.officer


def test_training_signoff_is_assigned_to_the_officer_who_screened(make_project, cast):
    project = make_project("in_training")
    signoff = open_task(process_for(project), "training_signoff")
    assert signoff.status == STATUS.ASSIGNED
    assert signoff.owner == cast.officer


def test_a_transition_and_the_closing_of_its_task_commit_together_or_not_at_all(make_project, cast, monkeypatch):
    """The task is closed inside the transition's transaction: when closing it fails,
    the transition (and its audit entry) is rolled back with it."""
    project = make_project("submitted")
    process = process_for(project)
    entries = project.audit_seq

    def broken(*args, **kwargs):
        raise RuntimeError("task store unavailable")

    monkeypatch.setattr(engine, "complete", broken)
    with pytest.raises(RuntimeError), transaction.atomic():
        services.project_screen(project_id=project.pk, actor=cast.officer)

    project = GrantProject.objects.get(pk=project.pk)
    assert project.state == "submitted"
    assert project.audit_seq == entries
    assert open_tasks(process) == ["screening"]


def test_a_transition_made_outside_a_task_closes_it_on_behalf_of_whoever_made_it(make_project, cast, make_user):
    from core.roles import Role

    project = make_project("submitted")
    other = make_user(Role.PROGRAM_OFFICER, username="other-officer")
    services.project_screen(project_id=project.pk, actor=other)

    screening = process_for(project).task_set.get(flow_task=GrantFlow.screening)
    assert screening.status == STATUS.DONE
    assert screening.owner == other
    assert screening.data["transition"] == "screen_ok"


def test_the_screening_screen_moves_the_file_and_its_task(make_project, cast, client):
    project = make_project("submitted")
    client.force_login(cast.officer)

    response = client.post(f"/projects/{project.pk}/screen/?next=/inbox/",
                           {"decision": "screen", "confirm": "on"})

    assert response.status_code == 302 and response["Location"] == "/inbox/"
    assert GrantProject.objects.get(pk=project.pk).state == "eligible"
    assert open_tasks(process_for(project)) == ["agenda"]


def test_the_screening_screen_shows_a_service_error_and_changes_nothing(make_project, cast, client):
    project = make_project("submitted")
    client.force_login(cast.officer)

    response = client.post(f"/projects/{project.pk}/screen/", {"decision": "return", "reason": "", "confirm": "on"})

    assert response.status_code == 200
    assert response.context["form"].errors
    assert GrantProject.objects.get(pk=project.pk).state == "submitted"
    assert open_tasks(process_for(project)) == ["screening"]


def test_another_role_cannot_open_the_screening_screen(make_project, cast, client):
    project = make_project("submitted")
    client.force_login(cast.agent)
    assert client.get(f"/projects/{project.pk}/screen/").status_code == 403
