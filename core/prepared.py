"""Server-side prepared statements for the statements every transition sends.

psycopg2 sends each statement as text, so PostgreSQL parses, analyses and plans the
row lock and the entry's INSERT (with the entity's UPDATE) on every transition: a good
part of the server's CPU per transition. On PostgreSQL, ``execute`` prepares each of
these few statements once per database session (``PREPARE name AS …``, with ``$n``
parameters) and then sends ``EXECUTE name(…)``. Prepared statements outlive a
rolled-back transaction; a new connection (reconnect, ``CONN_MAX_AGE``) starts with the
statements its session already holds, read from ``pg_prepared_statements``. Statements
run through Django's cursor, so errors are Django's (``IntegrityError``...) and query
capture shows ``PREPARE``/``EXECUTE``. Other databases run the statement as is.

Session-level statements need a real session per connection: behind a pooler in
transaction mode (PgBouncer ``pool_mode = transaction``), turn them off with the
setting ``TAMKEEN_PREPARED_STATEMENTS = False`` or the environment variable
``TAMKEEN_PREPARED_STATEMENTS=0`` (the same SQL is then sent as plain statements).
"""

import hashlib
import os

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

_STATEMENTS: dict = {}  # sql → (name, PREPARE text, EXECUTE text)
_enabled: list = []  # [bool] once read


def enabled() -> bool:
    if not _enabled:
        value = getattr(settings, "TAMKEEN_PREPARED_STATEMENTS", None)
        if value is None:
            value = os.environ.get("TAMKEEN_PREPARED_STATEMENTS", "1").strip().lower() not in (
                "0", "false", "no", "off",
            )
        _enabled.append(bool(value))
    return _enabled[0]


@receiver(setting_changed)
def _reread(setting, **kwargs):
    if setting == "TAMKEEN_PREPARED_STATEMENTS":
        _enabled.clear()


def _statement(sql: str):
    found = _STATEMENTS.get(sql)
    if found is None:
        parts = sql.split("%s")
        name = "tamkeen_" + hashlib.sha256(sql.encode()).hexdigest()[:24]
        body = parts[0] + "".join(f"${index}{part}" for index, part in enumerate(parts[1:], start=1))
        arguments = f"({', '.join(['%s'] * (len(parts) - 1))})" if len(parts) > 1 else ""
        found = _STATEMENTS[sql] = (name, f"PREPARE {name} AS {body}", f"EXECUTE {name}{arguments}")
    return found


def execute(cursor, sql: str, params) -> None:
    """``cursor.execute(sql, params)`` (Django cursor, ``%s`` placeholders), prepared
    once per session on PostgreSQL."""
    conn = cursor.db
    if conn.vendor != "postgresql" or not enabled():
        cursor.execute(sql, params)
        return
    name, prepare, run = _statement(sql)
    session = conn.connection
    known = getattr(conn, "_tamkeen_prepared", None)
    if known is None or known[0] is not session:
        cursor.execute("SELECT name FROM pg_prepared_statements")
        known = conn._tamkeen_prepared = (session, {row[0] for row in cursor.fetchall()})
    if name not in known[1]:
        cursor.execute(prepare)
        known[1].add(name)
    cursor.execute(run, params)
