"""Row locks, always taken in one order: program (envelope) → project.

Money paths lock pessimistically; ConcurrentTransitionMixin on the project is only a
backstop. On SQLite ``select_for_update`` is a no-op, and the IMMEDIATE transaction
mode of the settings serialises writers instead.
"""

from django.db import connection

from .exceptions import NotFound
from .models import GrantProject, Program


def lock_program(program_id) -> Program:
    try:
        return Program.objects.select_for_update().get(pk=program_id)
    except Program.DoesNotExist:
        raise NotFound() from None


_LOCK_SQL = {}


def lock_project(project_id, *, with_beneficiary=False) -> GrantProject:
    """Lock one project row (SELECT ... FOR UPDATE) and return it.

    Written as raw SQL: it runs on every transition, and compiling the ORM query cost
    more than the database round trip. Related rows load lazily, except the beneficiary
    and commune when the caller's guards read them (submission, screening).
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
    sql = _LOCK_SQL.get(connection.vendor)
    if sql is None:
        table = connection.ops.quote_name(GrantProject._meta.db_table)
        suffix = " FOR UPDATE" if connection.features.has_select_for_update else ""
        sql = _LOCK_SQL[connection.vendor] = f"SELECT * FROM {table} WHERE id = %s{suffix}"
    found = list(GrantProject.objects.raw(sql, [project_id]))
    if not found:
        raise NotFound()
    return found[0]


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
