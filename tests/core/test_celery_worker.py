"""A real Celery worker on the configured broker (Redis in CI, the embedded filesystem
broker locally) runs a task sent through that broker. Not eager mode."""

import uuid

import pytest
from django.conf import settings

from config.celery import app
from workflow.tasks import ping

pytestmark = pytest.mark.live_worker


def test_a_task_sent_through_the_broker_is_run_by_the_worker(live_worker):
    token = uuid.uuid4().hex
    result = ping.apply_async((token,), ignore_result=False)
    assert result.get(timeout=30) == token
    transport = app.connection_for_write().transport.driver_type
    expected = "redis" if settings.CELERY_BROKER_URL.startswith("redis://") else "filesystem"
    assert transport == expected
