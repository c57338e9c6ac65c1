"""The production settings for the page and load benchmarks, but for static files.

``CompressedManifestStaticFilesStorage`` needs ``collectstatic``, which fails on this
tree (viewflow's roboto-fontface.css names font files the package does not ship), so
static URLs are plain here, as in the test suite. Pages are timed, not static files."""

from config.settings import *  # noqa: F403
from config.settings import STORAGES

STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
