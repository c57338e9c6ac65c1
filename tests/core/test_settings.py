"""The settings as a fresh process reads them from the environment: DEBUG off unless set,
nothing created on disk by importing them (each directory is made by the process that
needs it, config/directories.py), and ``check --deploy`` clean with a production
environment. Each case runs in its own interpreter, with only the variables it sets.
"""

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

from config.directories import sqlite_directories

BASE_DIR = Path(__file__).resolve().parents[2]
# Variables of the developer's or CI's shell that would change what is checked here.
CLEARED = (
    "DJANGO_SETTINGS_MODULE", "DEBUG", "DATABASE_URL", "CELERY_BROKER_URL", "SECRET_KEY", "ALLOWED_HOSTS",
    "TAMKEEN_VAR_DIR", "TAMKEEN_DEV_KEYS", "TAMKEEN_KEY_DIR", "STATIC_ROOT", "MEDIA_ROOT",
)


def run(code_or_args, env_vars, *, cwd=BASE_DIR):
    env = {k: v for k, v in os.environ.items() if k not in CLEARED}
    env.update(env_vars)
    args = code_or_args if isinstance(code_or_args, list) else ["-c", code_or_args]
    done = subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def zero_setup(root: Path) -> dict:
    """The zero-setup default, with every local path under ``root`` (which does not exist)."""
    return {
        "TAMKEEN_VAR_DIR": str(root / "var"),
        "STATIC_ROOT": str(root / "static"),
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }


def test_importing_the_settings_and_setting_up_django_creates_nothing(tmp_path):
    root = tmp_path / "not-yet"
    out = run(
        "import json, config.settings as s, django; django.setup();"
        "from config.celery import app;"
        "print(json.dumps({'debug': s.DEBUG, 'dev_keys': s.TAMKEEN_DEV_KEYS,"
        " 'database': str(s.DATABASES['default']['NAME'])}))",
        zero_setup(root),
    )
    assert not root.exists(), sorted(str(p) for p in root.rglob("*"))
    said = json.loads(out.strip().splitlines()[-1])
    assert said["database"] == str(root / "var" / "tamkeen.sqlite3")
    if not (BASE_DIR / ".env").exists():  # a developer's .env may turn DEBUG on
        assert (said["debug"], said["dev_keys"]) == (False, False)


def test_manage_py_makes_the_sqlite_folder_before_connecting(tmp_path):
    root = tmp_path / "fresh"
    out = run(["manage.py", "shell", "-c",
               "from django.db import connection; connection.ensure_connection(); print('connected')"],
              zero_setup(root))
    assert "connected" in out
    assert (root / "var" / "tamkeen.sqlite3").is_file()
    assert not (root / "var" / "broker").exists()  # only what the command needed
    assert not (root / "static").exists()


def test_the_celery_app_makes_the_embedded_brokers_folders_and_beat_its_schedules(tmp_path):
    root = tmp_path / "fresh"
    schedule = root / "beat" / "schedule"
    run(
        "from config.celery import Scheduler, app; app.conf.broker_url;"
        f"s = Scheduler(app=app, schedule_filename={str(schedule)!r}, lazy=False); s.close()",
        zero_setup(root),
    )
    for folder in ("out", "processed", "control"):
        assert (root / "var" / "broker" / folder).is_dir(), folder
    assert schedule.parent.is_dir()
    assert not (root / "var" / "tamkeen.sqlite3").exists()


def test_sqlite_directories_skip_in_memory_databases_and_other_engines():
    databases = {
        "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": "/srv/tamkeen/db.sqlite3"},
        "memory": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"},
        "uri": {"ENGINE": "django.db.backends.sqlite3", "NAME": "file:memorydb?mode=memory&cache=shared"},
        "pg": {"ENGINE": "django.db.backends.postgresql", "NAME": "tamkeen"},
    }
    assert sqlite_directories(databases) == [Path("/srv/tamkeen")]


def test_check_deploy_is_clean_with_a_production_environment(tmp_path):
    production = {
        **zero_setup(tmp_path / "prod"),
        "SECRET_KEY": secrets.token_urlsafe(64),
        "ALLOWED_HOSTS": "tamkeen.example.ma",
        "DATABASE_URL": "postgres://tamkeen:secret@db.example.ma:5432/tamkeen",
        "CELERY_BROKER_URL": "redis://redis.example.ma:6379/0",
    }
    out = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], production)
    assert "no issues" in out


def test_check_deploy_flags_the_development_secret_key(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in CLEARED}
    env.update({**zero_setup(tmp_path / "prod"), "ALLOWED_HOSTS": "tamkeen.example.ma"})
    done = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
                          cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert "security.W009" in done.stdout + done.stderr
    if not (BASE_DIR / ".env").exists():
        assert "security.W018" not in done.stdout + done.stderr  # DEBUG is off by default


def test_the_content_security_policy_is_enforced_unless_report_only_is_asked(tmp_path):
    said = "import config.settings as s; print(s.CONTENT_SECURITY_POLICY is None, s.CONTENT_SECURITY_POLICY_REPORT_ONLY is None)"
    assert run(said, {**zero_setup(tmp_path), "TAMKEEN_CSP_REPORT_ONLY": ""}).split() == ["False", "True"]
    assert run(said, {**zero_setup(tmp_path), "TAMKEEN_CSP_REPORT_ONLY": "1"}).split() == ["True", "False"]
