"""Row locks, always taken in one order: program (envelope) → project.

Money paths lock pessimistically; ConcurrentTransitionMixin on the project is only a
backstop. On SQLite ``select_for_update`` is a no-op, and the IMMEDIATE transaction
mode of the settings serialises writers instead.
"""

import weakref

from django.db import connections, router

from core import prepared
from core.exceptions import NotFound
from workflow.models import GrantProject, Program


def lock_program(program_id) -> Program:
    try:
        return Program.objects.select_for_update().get(pk=program_id)
    except Program.DoesNotExist:
        raise NotFound() from None


# Per connection (the converters of some backends are bound to it): the SELECT ... FOR
# UPDATE of one project row, its columns and the converters of each column.
_LOCK_QUERIES: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _lock_query(conn, model):
    cached = _LOCK_QUERIES.get(conn)
    if cached is None:
        meta = model._meta
        fields = meta.concrete_fields
        quote = conn.ops.quote_name
        suffix = " FOR UPDATE" if conn.features.has_select_for_update else ""
        sql = (
            f"SELECT {', '.join(quote(f.column) for f in fields)} FROM {quote(meta.db_table)} "
            f"WHERE {quote(meta.pk.column)} = %s{suffix}"
        )
        converters = []
        for index, field in enumerate(fields):
            col = field.get_col(meta.db_table)
            found = conn.ops.get_db_converters(col) + col.get_db_converters(conn)
            if found:
                converters.append((index, col, found))
        cached = _LOCK_QUERIES[conn] = (sql, converters)
    return cached


def lock_project(project_id, *, with_beneficiary=False) -> GrantProject:
    """Lock one project row (SELECT ... FOR UPDATE) and return it.

    Written as one prepared statement (server-side on PostgreSQL, see
    ``core.prepared``): it runs on every transition, and compiling the ORM
    query cost more than the database round trip. The row becomes a model instance
    exactly as a queryset builds it (every column, the fields' database converters,
    ``Model.from_db``). Related rows load lazily, except the beneficiary and commune
    when the caller's guards read them (submission, screening).
    """
    try:
        project_id = int(project_id)
    except (TypeError, ValueError):
        raise NotFound() from None
    if with_beneficiary:
        try:
            return (
                GrantProject.objects.select_for_update(of=("self",))
                .select_related("program", "beneficiary", "beneficiary__commune")
                .get(pk=project_id)
            )
        except GrantProject.DoesNotExist:
            raise NotFound() from None
    alias = router.db_for_write(GrantProject)
    conn = connections[alias]
    sql, converters = _lock_query(conn, GrantProject)
    with conn.cursor() as cursor:
        prepared.execute(cursor, sql, [project_id])
        row = cursor.fetchone()
    if row is None:
        raise NotFound()
    if converters:
        row = list(row)
        for index, col, functions in converters:
            value = row[index]
            for convert in functions:
                value = convert(value, col, conn)
            row[index] = value
    return GrantProject.from_db(alias, None, row)


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
