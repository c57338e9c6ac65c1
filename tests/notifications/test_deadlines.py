"""Deadlines of each step: the reminder to the assignee at the first limit, the
escalation to the program officers at the second, per program, once."""

from collections import Counter
from datetime import datetime, time, timedelta

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core import mail
from django.utils import timezone
from viewflow.workflow.models import Task

from core.roles import Role
from disbursements import services as funding
from disbursements.flows import DisbursementFlow
from followup.flows import VisitFlow
from followup.models import FollowUpVisit
from notifications.deadlines import deadlines_check, deadlines_for
from notifications.models import Notification, NotificationKind, Step, StepDeadline
from notifications.tasks import deadlines_tick
from tests._concurrency import race  # noqa: F401 (fixture)
from tests._flows import fire_timers_due_by
from workflow.engine import OPEN
from workflow.flows import process_for
from workflow.models import GrantProject

pytestmark = pytest.mark.django_db


def entered_at(project):
    """When the file's open step was opened (its wait is counted from there)."""
    task = process_for(project).task_set.filter(status__in=OPEN).order_by("-pk").first()
    return task.created


def opened_at(artifact):
    """When the open task about ``artifact`` (a disbursement) was opened."""
    ct = ContentType.objects.get_for_model(type(artifact))
    return (Task.objects.filter(process__artifact_content_type=ct, process__artifact_object_id=artifact.pk,
                                status__in=OPEN).get().created)


def keys(**filters):
    return sorted(Notification.objects.filter(**filters).values_list("dedupe_key", flat=True))


@pytest.mark.parametrize(
    ("state", "step", "remind", "escalate"),
    [("submitted", "screening", 5, 10), ("eligible", "scheduling", 14, 30), ("in_training", "training", 60, 90)],
)
def test_a_waiting_project_is_reminded_then_escalated_at_its_limits(make_project, cast, state, step, remind, escalate):
    project = make_project(state)
    since = entered_at(project)
    officer = cast.officer

    assert deadlines_check(as_of=since + timedelta(days=remind) - timedelta(minutes=1)) == {
        "reminders": 0, "escalations": 0}
    assert deadlines_check(as_of=since + timedelta(days=remind)) == {"reminders": 1, "escalations": 0}
    reminder = Notification.objects.get(kind=NotificationKind.REMINDER)
    assert reminder.recipient == officer
    task = process_for(project).task_set.get(status__in=OPEN)
    assert reminder.dedupe_key == f"reminder:{step}:task{task.pk}:u{officer.pk}"
    assert reminder.link == task.flow_task.screen_for(task)
    assert project.reference in reminder.subject

    assert deadlines_check(as_of=since + timedelta(days=escalate, hours=1)) == {"reminders": 0, "escalations": 1}
    escalation = Notification.objects.get(kind=NotificationKind.ESCALATION)
    assert escalation.recipient == officer
    assert Notification.objects.count() == 2


def test_the_training_signoff_reminds_its_task_owner_not_every_officer(
    make_project, make_user, cast, django_capture_on_commit_callbacks
):
    other_officer = make_user(Role.PROGRAM_OFFICER)
    # The grant flow follows the project after each commit: its tasks exist.
    with django_capture_on_commit_callbacks(execute=True):
        project = make_project("in_training")
    deadlines_check(as_of=entered_at(project) + timedelta(days=61))
    # The sign-off task is assigned to the officer who screened the file.
    assert list(Notification.objects.filter(kind="reminder").values_list("recipient", flat=True)) == [cast.officer.pk]
    deadlines_check(as_of=entered_at(project) + timedelta(days=91))
    # Escalations go to every program officer.
    assert set(Notification.objects.filter(kind="escalation").values_list("recipient", flat=True)) == {
        cast.officer.pk, other_officer.pk}


def test_screening_reminds_every_program_officer_while_nobody_took_the_task(make_project, make_user, cast):
    other_officer = make_user(Role.PROGRAM_OFFICER)
    project = make_project("submitted")
    assert deadlines_check(as_of=entered_at(project) + timedelta(days=6))["reminders"] == 2
    assert set(Notification.objects.values_list("recipient", flat=True)) == {cast.officer.pk, other_officer.pk}


def test_a_resubmitted_file_is_a_new_wait_with_its_own_reminder(make_project, cast):
    from workflow import services

    project = make_project("submitted")
    deadlines_check(as_of=entered_at(project) + timedelta(days=6))
    services.project_return_docs(project_id=project.pk, actor=cast.officer, reason="Pièce illisible.")
    services.project_submit(project_id=project.pk, actor=cast.agent)
    project = GrantProject.objects.get(pk=project.pk)
    deadlines_check(as_of=entered_at(project) + timedelta(days=6))
    assert Notification.objects.filter(kind="reminder").count() == 2


def test_a_program_sets_its_own_limits(make_project, program):
    StepDeadline.objects.create(program=program, step=Step.SCREENING, remind_after_days=1, escalate_after_days=2)
    assert deadlines_for(program)[Step.SCREENING] == (1, 2)
    assert deadlines_for(program)[Step.SCHEDULING] == (14, 30)  # the default
    project = make_project("submitted")
    assert deadlines_check(as_of=entered_at(project) + timedelta(days=2, hours=1)) == {
        "reminders": 1, "escalations": 1}


def test_a_limit_escalates_after_it_reminds(program):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        StepDeadline(program=program, step=Step.RELEASE, remind_after_days=5, escalate_after_days=5).full_clean()


def test_authorization_and_release_remind_the_next_person_never_the_requester(make_project, make_user, cast):
    authorizer = make_user(Role.AUTHORIZING_OFFICER)
    treasurer = make_user(Role.TREASURER)
    # One person holding both finance roles would still never be asked to check themself.
    both = make_user(Role.FINANCE_OFFICER, Role.AUTHORIZING_OFFICER, Role.TREASURER)
    project = make_project("funding", amount="50000.00")
    requested = funding.disbursement_request(project_id=project.pk, actor=both, amount="1000.00")
    authorization = Task.objects.get(status__in=OPEN, flow_task=DisbursementFlow.authorization)
    deadlines_check(as_of=opened_at(requested) + timedelta(days=3))
    assert keys(kind="reminder") == [f"reminder:authorization:task{authorization.pk}:u{authorizer.pk}"]

    requested = funding.disbursement_authorize(disbursement_id=requested.pk, actor=authorizer)
    release = Task.objects.get(status__in=OPEN, flow_task=DisbursementFlow.release)
    deadlines_check(as_of=opened_at(requested) + timedelta(days=7))
    assert keys(kind="reminder", dedupe_key__startswith="reminder:release") == [
        f"reminder:release:task{release.pk}:u{treasurer.pk}"]
    assert keys(kind="escalation") == [f"escalation:release:task{release.pk}:u{cast.officer.pk}"]


def test_an_unreported_visit_reminds_its_mentor_and_a_reported_one_nothing(make_project, cast):
    project = make_project("launched")
    first, second = FollowUpVisit.objects.filter(project=project).order_by("sequence")[:2]
    due = timezone.make_aware(datetime.combine(second.due_on, time(12)))
    # Before the beat fires the visits' timers, there is no task: nothing to remind.
    assert deadlines_check(as_of=due) == {"reminders": 0, "escalations": 0}
    fire_timers_due_by(due)
    tasks = {t.process.artifact_object_id: t for t in Task.objects.filter(flow_task=VisitFlow.report)}
    assert set(tasks) == {first.pk, second.pk}
    assert {t.owner for t in tasks.values()} == {cast.mentor}
    assert deadlines_check(as_of=due) == {"reminders": 2, "escalations": 1}
    assert keys(kind="visit_due") == sorted([  # the timers fire in no set order
        f"reminder:visit:task{tasks[first.pk].pk}:u{cast.mentor.pk}",
        f"reminder:visit:task{tasks[second.pk].pk}:u{cast.mentor.pk}"])
    assert keys(kind="escalation") == [f"escalation:visit:task{tasks[first.pk].pk}:u{cast.officer.pk}"]


def test_the_tick_twice_and_a_redelivered_message_send_one_email(make_project, cast):
    project = make_project("submitted")
    as_of = (entered_at(project) + timedelta(days=6)).isoformat()
    first = deadlines_tick.apply(kwargs={"as_of": as_of}, task_id="tick-1").get()
    again = deadlines_tick.apply(kwargs={"as_of": as_of}, task_id="tick-1").get()  # redelivered
    later = deadlines_tick.apply(kwargs={"as_of": as_of}).get()
    assert first == {"reminders": 1, "escalations": 0, "emailed": 1}
    assert again == later == {"reminders": 0, "escalations": 0, "emailed": 0}
    assert len(mail.outbox) == 1
    assert Notification.objects.count() == 1


def test_an_email_that_fails_stays_pending_and_goes_with_the_next_tick(make_project, cast, monkeypatch):
    from django.core.mail import EmailMessage

    project = make_project("submitted")
    as_of = (entered_at(project) + timedelta(days=6)).isoformat()
    send = EmailMessage.send

    def broken(self, *args, **kwargs):
        raise ConnectionRefusedError("smtp down")

    monkeypatch.setattr(EmailMessage, "send", broken)
    assert deadlines_tick.apply(kwargs={"as_of": as_of}).get()["emailed"] == 0
    assert Notification.objects.get().emailed_at is None
    monkeypatch.setattr(EmailMessage, "send", send)
    assert deadlines_tick.apply(kwargs={"as_of": as_of}).get() == {"reminders": 0, "escalations": 0, "emailed": 1}
    assert len(mail.outbox) == 1


def test_a_malformed_moment_is_refused(db):
    with pytest.raises(ValueError):
        deadlines_tick.apply(kwargs={"as_of": "yesterday"}).get()


@pytest.mark.postgres
@pytest.mark.usefixtures("reference_data")
def test_concurrent_ticks_on_two_connections_remind_and_email_once(make_project, make_user, cast):
    make_user(Role.PROGRAM_OFFICER)
    project = make_project("submitted")
    as_of = (entered_at(project) + timedelta(days=11)).isoformat()

    outcomes = race(*(lambda: deadlines_tick.apply(kwargs={"as_of": as_of}).get() for _ in range(3)))
    assert outcomes == ["ok", "ok", "ok"]
    # Two officers: a reminder and an escalation each, each emailed once.
    assert Notification.objects.count() == 4
    assert Notification.objects.filter(emailed_at__isnull=True).count() == 0
    assert len(mail.outbox) == 4
    subjects = Counter(m.subject for m in mail.outbox)
    assert sorted(subjects.values()) == [2, 2]  # one reminder and one escalation per officer
