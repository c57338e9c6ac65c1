#!/usr/bin/env python
"""Django's command-line utility for Tamkeen."""

import contextlib
import os
import sys


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    from config.directories import ensure_sqlite_directories

    # The SQLite file's folder, before any command connects (unusable settings are
    # reported by the command itself).
    with contextlib.suppress(ImproperlyConfigured):
        ensure_sqlite_directories()
    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
