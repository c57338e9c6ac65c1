"""The production settings for the page and load benchmarks, but for static files.

``CompressedManifestStaticFilesStorage`` needs a ``collectstatic`` run first (with
``-i node_modules -i dash`` for viewflow's assets); the benchmarks use plain static URLs
instead, as the test suite does, so they run on any checkout. Pages are timed, not static
files."""

from config.settings import *  # noqa: F403
from config.settings import STORAGES

CELERY_BROKER_URL = "memory://"
CELERY_BROKER_TRANSPORT_OPTIONS = {}

STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
