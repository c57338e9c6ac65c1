"""The Celery app: tasks only call services; beat drives timers and periodic work."""

import os
from pathlib import Path

from celery import Celery, signals
from celery.beat import PersistentScheduler

from config.directories import ensure_broker_folders, ensure_sqlite_directories

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("tamkeen")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_configure.connect
def _make_broker_folders(sender, source, **kwargs):
    """The embedded broker's folders, made once the configuration is read: in a worker,
    in beat, or in a process about to send its first task (it writes into them)."""
    ensure_broker_folders(source.broker_url or "", source.broker_transport_options or {})


@signals.worker_init.connect
def _make_database_folder(**kwargs):
    """The SQLite file's folder, before the worker's tasks connect."""
    ensure_sqlite_directories()


class Scheduler(PersistentScheduler):
    """Beat's default scheduler (``CELERY_BEAT_SCHEDULER``): the schedule file's folder
    is made before the file is opened."""

    def setup_schedule(self):
        Path(self.schedule_filename).parent.mkdir(parents=True, exist_ok=True)
        super().setup_schedule()
