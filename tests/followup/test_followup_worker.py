"""End to end with a real Celery worker (Redis in CI, the embedded broker locally; not
eager mode): a launched project's first follow-up visit falls due, the beat-style tick
goes through the broker to the worker, the mentor gets one reminder email however
often the tick runs or its message is redelivered, and the program officer gets one
escalation past the second limit.

The worker runs in this process (its own thread), so the locmem outbox is shared; the
data is committed (transactional database) for the worker's connection to see it.
"""

import uuid
from datetime import datetime, time, timedelta

import pytest
from django.core import mail
from django.utils import timezone
from viewflow.workflow.models import Task

from followup.flows import VisitFlow
from followup.models import FollowUpVisit
from notifications.models import Notification, NotificationKind
from notifications.tasks import deadlines_tick
from tests._flows import fire_timers_due_by

pytestmark = [
    pytest.mark.live_worker,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("reference_data"),
]


def tick(as_of, task_id=None):
    """What beat does: send the tick through the broker; wait for the worker's answer."""
    result = deadlines_tick.apply_async(
        kwargs={"as_of": as_of.isoformat()}, task_id=task_id, ignore_result=False
    )
    return result.get(timeout=60)


def test_a_due_visit_is_reminded_once_then_escalated_by_the_worker(live_worker, make_project, cast):
    project = make_project("launched")
    visit = FollowUpVisit.objects.filter(project=project).order_by("sequence").first()
    assert visit is not None and visit.mentor_id == cast.mentor.pk
    due = timezone.make_aware(datetime.combine(visit.due_on, time(9, 0)))

    # The day before it is due: nothing.
    assert tick(due - timedelta(days=1)) == {"reminders": 0, "escalations": 0, "emailed": 0}
    assert mail.outbox == []

    # The beat fires the visit's timer: the report is the mentor's task from then on.
    fire_timers_due_by(due)
    # Due: one reminder to the mentor, emailed once.
    assert tick(due + timedelta(days=1)) == {"reminders": 1, "escalations": 0, "emailed": 1}
    # The same tick again, and the same message delivered twice (acks_late redelivery).
    redelivered = uuid.uuid4().hex
    assert tick(due + timedelta(days=1, hours=1)) == {"reminders": 0, "escalations": 0, "emailed": 0}
    tick(due + timedelta(days=2), task_id=redelivered)
    tick(due + timedelta(days=2), task_id=redelivered)
    assert len(mail.outbox) == 1
    (reminder,) = mail.outbox
    assert reminder.to == [cast.mentor.email]
    assert project.reference in reminder.subject
    assert f"/followup/visits/{visit.pk}/report/" in reminder.body
    assert Notification.objects.get(recipient=cast.mentor).kind == NotificationKind.VISIT_DUE

    # Past the second limit (14 days by default): one escalation to the program officer.
    late = due + timedelta(days=15)
    assert tick(late) == {"reminders": 0, "escalations": 1, "emailed": 1}
    assert tick(late)["escalations"] == 0
    assert len(mail.outbox) == 2
    escalation = mail.outbox[1]
    assert escalation.to == [cast.officer.email]
    assert project.reference in escalation.subject
    report = Task.objects.get(flow_task=VisitFlow.report, process__artifact_object_id=visit.pk)
    assert Notification.objects.filter(dedupe_key__startswith=f"reminder:visit:task{report.pk}:").count() == 1
    assert Notification.objects.filter(dedupe_key__startswith=f"escalation:visit:task{report.pk}:").count() == 1
    assert Notification.objects.filter(emailed_at__isnull=True).count() == 0
