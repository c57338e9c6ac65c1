"""Row locks, always taken in one order: program (envelope) → project.

Money paths lock pessimistically; ConcurrentTransitionMixin on the project is only a
backstop. On SQLite ``select_for_update`` is a no-op, and the IMMEDIATE transaction
mode of the settings serialises writers instead.
"""

from django.db import connections, router

from core import prepared
from core.exceptions import NotFound
from workflow.models import GrantProject, Program


def lock_program(program_id) -> Program:
    try:
        return Program.objects.select_for_update().get(pk=program_id)
    except Program.DoesNotExist:
        raise NotFound() from None


# The project row's SELECT ... FOR UPDATE on PostgreSQL, per database alias: its SQL, the
# attnames of its columns, and the columns a field converts (``from_db_value``).
_LOCK_STATEMENTS: dict = {}


def _lock_statement(conn):
    found = _LOCK_STATEMENTS.get(conn.alias)
    if found is None:
        meta = GrantProject._meta
        quote = conn.ops.quote_name
        fields = meta.concrete_fields
        sql = (
            f"SELECT {', '.join(quote(f.column) for f in fields)} FROM {quote(meta.db_table)} "
            f"WHERE {quote(meta.pk.column)} = %s FOR UPDATE"
        )
        converted = [(index, f) for index, f in enumerate(fields) if hasattr(f, "from_db_value")]
        found = _LOCK_STATEMENTS[conn.alias] = (sql, [f.attname for f in fields], converted)
    return found


def lock_project(project_id, *, with_beneficiary=False) -> GrantProject:
    """Lock one project row (SELECT ... FOR UPDATE) and return it.

    With ``with_beneficiary`` (the guards of submission and screening read them) the
    program, the beneficiary and the commune are joined and only the project's row is
    locked, with the ORM. Otherwise related rows load lazily and, on PostgreSQL, the lock
    every transition takes is one cached statement, server-side prepared
    (``core.prepared``), because compiling the ORM query cost more client CPU than the
    round trip (bench/README.md). It reads every concrete column, converts those whose
    field has ``from_db_value`` (JSON) as a queryset does, psycopg2 having returned the
    others as Python values already, and builds the instance with ``Model.from_db``.
    Other databases take the ORM query.
    """
    try:
        project_id = int(project_id)
    except (TypeError, ValueError):
        raise NotFound() from None
    alias = router.db_for_write(GrantProject)
    conn = connections[alias]
    if with_beneficiary or conn.vendor != "postgresql":
        queryset = GrantProject.objects.select_for_update(of=("self",) if with_beneficiary else ())
        if with_beneficiary:
            queryset = queryset.select_related("program", "beneficiary", "beneficiary__commune")
        try:
            return queryset.using(alias).get(pk=project_id)
        except GrantProject.DoesNotExist:
            raise NotFound() from None
    sql, names, converted = _lock_statement(conn)
    with conn.cursor() as cursor:
        prepared.execute(cursor, sql, [project_id])
        row = cursor.fetchone()
    if row is None:
        raise NotFound()
    if converted:
        row = list(row)
        for index, field in converted:
            row[index] = field.from_db_value(row[index], None, conn)
    return GrantProject.from_db(alias, names, row)


def lock_project_with_program(project_id) -> GrantProject:
    """Lock the project's program first, then the project, and link the two."""
    try:
        program_id = (
            GrantProject.objects.filter(pk=int(project_id)).values_list("program_id", flat=True).first()
        )
    except (TypeError, ValueError):
        program_id = None
    if program_id is None:
        raise NotFound()
    program = lock_program(program_id)
    project = lock_project(project_id)
    project.program = program
    return project
