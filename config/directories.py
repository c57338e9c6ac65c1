"""The local directories of the zero-setup default, made by the processes that use them.

Importing the settings creates nothing on disk. Each directory is created where it is
first needed: the SQLite file's folder before a process connects (manage.py, wsgi/asgi,
the Celery worker), the embedded broker's folders when the Celery app is configured (a
worker, beat, or a process about to send a task), beat's schedule folder when beat opens
its schedule (config/celery.py). Uploaded documents' folders are made by the storage,
signing keys' folder by ledger.keys, STATIC_ROOT by collectstatic.
"""

from pathlib import Path

SQLITE_ENGINE = "django.db.backends.sqlite3"
BROKER_FOLDERS = ("data_folder_in", "data_folder_out", "processed_folder", "control_folder")


def sqlite_directories(databases: dict) -> list[Path]:
    """The folders of the SQLite database files among ``databases`` (not in-memory ones)."""
    folders = []
    for database in databases.values():
        name = str(database.get("NAME") or "")
        if database.get("ENGINE") != SQLITE_ENGINE or name in ("", ":memory:") or name.startswith("file:"):
            continue
        folders.append(Path(name).parent)
    return folders


def ensure_sqlite_directories() -> None:
    """Create the folder of every SQLite database file (SQLite creates the file, not its folder)."""
    from django.conf import settings

    for folder in sqlite_directories(settings.DATABASES):
        folder.mkdir(parents=True, exist_ok=True)


def ensure_broker_folders(broker_url: str, transport_options: dict) -> None:
    """Create the embedded (filesystem) broker's folders; nothing for another broker."""
    if not (broker_url or "").startswith("filesystem://"):
        return
    for option in BROKER_FOLDERS:
        if transport_options.get(option):
            Path(transport_options[option]).mkdir(parents=True, exist_ok=True)
