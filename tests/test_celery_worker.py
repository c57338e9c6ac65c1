"""A real Celery worker on the configured broker (Redis in CI, the embedded filesystem
broker locally) runs a task sent through that broker. Not eager mode."""

import os
import uuid

import pytest
from celery.contrib.testing.worker import start_worker
from django.conf import settings

from config.celery import app
from workflow.tasks import ping

pytestmark = pytest.mark.live_worker


@pytest.fixture
def live_worker(tmp_path):
    if os.environ.get("TAMKEEN_REQUIRE_BROKER") == "1":
        assert settings.CELERY_BROKER_URL.startswith("redis://"), settings.CELERY_BROKER_URL
    if settings.CELERY_BROKER_URL.startswith("filesystem://"):
        # A broker folder of this test's own: another test run on the machine must not
        # consume its messages.
        folders = {name: tmp_path / name for name in ("out", "processed", "control")}
        for folder in folders.values():
            folder.mkdir()
        app.conf.broker_transport_options = {
            "data_folder_in": str(folders["out"]), "data_folder_out": str(folders["out"]),
            "processed_folder": str(folders["processed"]), "control_folder": str(folders["control"]),
        }
    # Results come back through an in-process backend: the worker runs in this process.
    previous = app.conf.result_backend, app.conf.task_ignore_result
    app.conf.result_backend, app.conf.task_ignore_result = "cache+memory://", False
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10) as worker:
            yield worker
    finally:
        app.conf.result_backend, app.conf.task_ignore_result = previous


def test_a_task_sent_through_the_broker_is_run_by_the_worker(live_worker):
    token = uuid.uuid4().hex
    result = ping.apply_async((token,), ignore_result=False)
    assert result.get(timeout=30) == token
    transport = app.connection_for_write().transport.driver_type
    expected = "redis" if settings.CELERY_BROKER_URL.startswith("redis://") else "filesystem"
    assert transport == expected
