"""The flows around a file: a disbursement's three people, an order's steps, a committee
session's preparation, ballots, close and minutes, a follow-up visit's report — each
step a task in the right inbox, closed by its transition; and ``flows_sync``, which
rebuilds the processes of what existed before the flows."""

import pytest
from django.core.management import call_command
from viewflow.workflow import PROCESS, STATUS
from viewflow.workflow.models import Process, Task

from approvals.flows import SessionFlow
from core.roles import Role
from demo.scenarios import plan_session
from disbursements import services as funding
from disbursements.flows import DisbursementFlow, PurchaseOrderFlow
from followup.flows import VisitFlow
from followup.models import FollowUpVisit
from tests._flows import fire_timers_due_by
from workflow import engine
from workflow.flows import GrantFlow, process_for
from workflow.inbox import inbox_tasks

pytestmark = pytest.mark.django_db


def open_names(flow_class, artifact):
    process = engine.process_of(flow_class, artifact)
    return [t.flow_task.name for t in process.task_set.filter(status__in=engine.OPEN).order_by("pk")]


def kinds(user):
    return sorted(task.flow_task.name for task in inbox_tasks(user))


# --- disbursements ----------------------------------------------------------------------


def test_a_tranche_goes_to_an_authorizer_who_did_not_request_it_then_to_a_third_person(
    make_project, make_user, cast, people
):
    # One person holding every money role: the inbox never offers them their own request.
    both = make_user(Role.FINANCE_OFFICER, Role.AUTHORIZING_OFFICER, Role.TREASURER)
    project = make_project("funding", amount="50000.00")
    disbursement = funding.disbursement_request(project_id=project.pk, actor=both, amount="1000.00")

    assert open_names(DisbursementFlow, disbursement) == ["authorization"]
    assert kinds(people["authorizer"]) == ["authorization"]
    assert "authorization" not in kinds(both)

    funding.disbursement_authorize(disbursement_id=disbursement.pk, actor=people["authorizer"])
    assert open_names(DisbursementFlow, disbursement) == ["release"]
    assert kinds(people["treasurer"]) == ["release"]
    assert "release" not in kinds(both) and kinds(people["authorizer"]) == []

    funding.disbursement_release(disbursement_id=disbursement.pk, actor=people["treasurer"], password="pass-Tamkeen-2025",
                                 payment_reference="VIR-1", idempotency_key="k-1")
    process = engine.process_of(DisbursementFlow, disbursement)
    assert process.status == PROCESS.DONE
    owners = {t.flow_task.name: t.owner for t in process.task_set.all()}
    assert owners["authorization"] == people["authorizer"] and owners["release"] == people["treasurer"]


def test_a_step_excluded_by_separation_of_duties_cannot_be_claimed(make_project, make_user):
    both = make_user(Role.FINANCE_OFFICER, Role.AUTHORIZING_OFFICER)
    project = make_project("funding", amount="50000.00")
    disbursement = funding.disbursement_request(project_id=project.pk, actor=both, amount="1000.00")
    task = engine.process_of(DisbursementFlow, disbursement).task_set.get(flow_task=DisbursementFlow.authorization)
    assert not DisbursementFlow.authorization.can_assign(both, task)


def test_a_rejected_or_cancelled_tranche_ends_its_process(make_project, cast, people):
    project = make_project("funding", amount="50000.00")
    rejected = funding.disbursement_request(project_id=project.pk, actor=cast.finance, amount="1000.00")
    funding.disbursement_reject(disbursement_id=rejected.pk, actor=people["authorizer"], reason="No invoice.")
    assert engine.process_of(DisbursementFlow, rejected).status == PROCESS.DONE

    cancelled = funding.disbursement_request(project_id=project.pk, actor=cast.finance, amount="1000.00")
    funding.disbursement_cancel(disbursement_id=cancelled.pk, actor=cast.finance, reason="Duplicate.")
    assert engine.process_of(DisbursementFlow, cancelled).status == PROCESS.CANCELED
    assert kinds(people["authorizer"]) == []


# --- purchase orders ---------------------------------------------------------------------


def test_an_order_moves_through_its_steps_and_the_file_waits_for_its_orders(make_project, make_order, cast):
    project = make_project("funding", amount="60000.00")
    assert open_names(GrantFlow, project) == ["procurement"]
    order = make_order(project, "chosen")
    assert open_names(PurchaseOrderFlow, order) == ["issue"]
    assert "issue" in kinds(cast.finance)

    funding.purchase_order_issue(order_id=order.pk, actor=cast.finance)
    # The first order issued ends the finance officer's "plan and order" step.
    assert open_names(GrantFlow, project) == ["equipment_delivery"]
    assert open_names(PurchaseOrderFlow, order) == ["delivery"]

    funding.purchase_order_deliver(order_id=order.pk, actor=cast.officer)
    assert open_names(PurchaseOrderFlow, order) == ["mentor_signature", "beneficiary_witness"]
    assert "beneficiary_witness" in kinds(cast.agent)

    funding.receipt_witness_beneficiary(order_id=order.pk, actor=cast.agent)
    funding.receipt_confirm_mentor(order_id=order.pk, actor=cast.mentor)
    assert open_names(PurchaseOrderFlow, order) == ["reception"]
    funding.purchase_order_receive(order_id=order.pk, actor=cast.officer)

    assert engine.process_of(PurchaseOrderFlow, order).status == PROCESS.DONE
    # The last order received opens the officer's equipment check.
    assert open_names(GrantFlow, project) == ["equipment_check"]
    assert "equipment_check" in kinds(cast.officer)


def test_a_scanned_receipt_stands_for_both_signatures(make_project, make_order, cast):
    from django.core.files.uploadedfile import SimpleUploadedFile

    project = make_project("funding", amount="60000.00")
    order = make_order(project, "delivered")
    funding.receipt_attach_scan(order_id=order.pk, actor=cast.officer,
                                uploaded_file=SimpleUploadedFile("pv.pdf", b"%PDF-1.4 signed"))
    assert open_names(PurchaseOrderFlow, order) == ["reception"]


# --- committee sessions -----------------------------------------------------------------


def test_a_session_is_prepared_opened_voted_closed_and_its_minutes_confirmed(make_project, cast, make_user):
    from approvals.models import CommitteeSession
    from demo.scenarios import hold_session

    project = make_project("eligible")
    plan_session(project.program, cast, [project.pk])
    session = CommitteeSession.objects.order_by("-pk").first()
    assert sorted(open_names(SessionFlow, session)) == ["opening", "preparation"]
    assert "opening" in kinds(cast.chair)

    hold_session(session.pk, cast, {project.pk: ("approve", project.requested_amount)}, close=False)
    process = engine.process_of(SessionFlow, session)
    ballots = process.task_set.filter(flow_task=SessionFlow.ballot)
    # One ballot per member present, each assigned to its member; done once they voted.
    assert ballots.count() >= 1 and all(b.owner_id for b in ballots)
    assert {b.status for b in ballots} == {STATUS.DONE}
    assert open_names(SessionFlow, session) == ["closing"]

    from approvals import services as committee

    committee.session_close(session_id=session.pk, actor=cast.chair)
    confirmations = process.task_set.filter(flow_task=SessionFlow.minutes_confirmation, status__in=engine.OPEN)
    assert {t.owner for t in confirmations} == {b.owner for b in ballots}
    assert "minutes_confirmation" in kinds(cast.chair)


# --- follow-up visits -------------------------------------------------------------------


def test_a_visit_becomes_the_mentors_task_when_it_is_due_and_ends_with_its_report(make_project, cast):
    from datetime import datetime, time

    from django.utils import timezone

    from demo.scenarios import report_followup

    project = make_project("launched")
    first = FollowUpVisit.objects.filter(project=project).order_by("sequence").first()
    assert "report" not in kinds(cast.mentor)
    fire_timers_due_by(timezone.make_aware(datetime.combine(first.due_on, time.min)))
    assert "report" in kinds(cast.mentor)

    report_followup(project.pk, cast)
    assert Task.objects.filter(flow_task=VisitFlow.report, status__in=engine.OPEN).count() == 0


def test_a_suspended_file_pauses_its_orders_and_disbursements_too(make_project, make_order, cast, people):
    from workflow import services

    project = make_project("funding", amount="60000.00")
    order = make_order(project, "chosen")
    services.project_suspend(project_id=project.pk, actor=cast.officer, reason="Inquiry.")
    assert open_names(PurchaseOrderFlow, order) == [] and open_names(GrantFlow, project) == []
    services.project_resume(project_id=project.pk, actor=cast.officer)
    assert open_names(PurchaseOrderFlow, order) == ["issue"]
    assert open_names(GrantFlow, project) == ["procurement"]


# --- flows_sync -------------------------------------------------------------------------


def test_flows_sync_rebuilds_the_processes_of_what_existed_before_the_flows(make_project, cast, people, capsys):
    project = make_project("funding", amount="50000.00")
    disbursement = funding.disbursement_request(project_id=project.pk, actor=cast.finance, amount="1000.00")
    funding.disbursement_authorize(disbursement_id=disbursement.pk, actor=people["authorizer"])
    # As before the flows: no process at all.
    Process.objects.filter(flow_class=DisbursementFlow).delete()

    with pytest.raises(SystemExit):
        call_command("flows_sync", "--check")
    assert "DisbursementFlow: 1 without a process" in capsys.readouterr().out

    call_command("flows_sync")
    assert open_names(DisbursementFlow, disbursement) == ["release"]
    assert "processes started: " in capsys.readouterr().out
    assert kinds(people["treasurer"]) == ["release"]
    call_command("flows_sync", "--check")  # nothing left: exits normally
    assert process_for(project) is not None


# --- training sessions ------------------------------------------------------------------


def test_a_training_session_is_its_trainers_task_from_its_day_until_the_attendance(
    make_project, make_user, cast, program
):
    from datetime import date, timedelta
    from datetime import time as clock

    from django.utils import timezone

    from training import services as training_services
    from training.flows import TrainingSessionFlow

    trainer = make_user(Role.TRAINER)
    training_services.program_module_set(actor=cast.officer, program_id=program.pk, module="marketing",
                                         planned_hours="10")
    project = make_project("in_training")
    later = training_services.training_session_create(
        actor=cast.officer, program_id=program.pk, module="marketing", trainer=trainer,
        date=date.today() + timedelta(days=7), start_time=clock(9, 30), hours="3", place="Nador")
    today = training_services.training_session_create(
        actor=cast.officer, program_id=program.pk, module="marketing", trainer=trainer,
        date=date.today() - timedelta(days=1), start_time=clock(9, 30), hours="3", place="Nador")
    assert kinds(trainer) == []
    fire_timers_due_by(timezone.now())
    assert [t.process.artifact_object_id for t in inbox_tasks(trainer)] == [today.pk]
    assert {t.flow_task.name for t in inbox_tasks(trainer)} == {"attendance"}

    training_services.training_record_attendance(session_id=today.pk, actor=trainer, attendance={project.pk: True})
    assert kinds(trainer) == []
    assert engine.process_of(TrainingSessionFlow, today).status == PROCESS.DONE
    assert engine.process_of(TrainingSessionFlow, later).status == PROCESS.NEW


def test_flows_sync_gives_a_training_session_made_before_its_flow_its_process(make_user, cast, program):
    from datetime import date
    from datetime import time as clock

    from training import services as training_services
    from training.flows import TrainingSessionFlow

    trainer = make_user(Role.TRAINER)
    training_services.program_module_set(actor=cast.officer, program_id=program.pk, module="marketing",
                                         planned_hours="10")
    session = training_services.training_session_create(
        actor=cast.officer, program_id=program.pk, module="marketing", trainer=trainer, date=date.today(),
        start_time=clock(9, 0), hours="2", place="Nador")
    Process.objects.filter(flow_class=TrainingSessionFlow).delete()

    call_command("flows_sync")
    process = engine.process_of(TrainingSessionFlow, session)
    assert process is not None and process.status == PROCESS.NEW
