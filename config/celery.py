"""The Celery app: tasks only call services; beat drives timers and periodic work."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("tamkeen")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
