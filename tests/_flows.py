"""Helpers for the tests of the flows' tasks."""

from django.utils import timezone
from viewflow.workflow import STATUS
from viewflow.workflow.models import Task
from viewflow.workflow.timers import fire_due_timers


def fire_timers_due_by(moment):
    """What the beat does every minute, at ``moment``: the timers due by then fire."""
    Task.objects.filter(status=STATUS.SCHEDULED, scheduled__lte=moment).update(scheduled=timezone.now())
    return fire_due_timers()
