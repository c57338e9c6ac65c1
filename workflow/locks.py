"""Row locks, always taken in one order: program (envelope) → project.

Money paths lock pessimistically; ConcurrentTransitionMixin on the project is only a
backstop. On SQLite ``select_for_update`` is a no-op, and the IMMEDIATE transaction
mode of the settings serialises writers instead.
"""

from .exceptions import NotFound
from .models import GrantProject, Program


def lock_program(program_id) -> Program:
    try:
        return Program.objects.select_for_update().get(pk=program_id)
    except Program.DoesNotExist:
        raise NotFound() from None


def lock_project(project_id, *, with_beneficiary=False) -> GrantProject:
    """Lock one project row. Its program comes along (guards read it); the beneficiary
    only when the caller's guards read it (submission, screening)."""
    related = ("program", "beneficiary", "beneficiary__commune") if with_beneficiary else ("program",)
    try:
        return (
            GrantProject.objects.select_for_update(of=("self",))
            .select_related(*related)
            .get(pk=project_id)
        )
    except GrantProject.DoesNotExist:
        raise NotFound() from None


def lock_project_with_program(project_id) -> GrantProject:
    """Lock the project's program first, then the project, and link the two."""
    program_id = (
        GrantProject.objects.filter(pk=project_id).values_list("program_id", flat=True).first()
    )
    if program_id is None:
        raise NotFound()
    program = lock_program(program_id)
    project = lock_project(project_id)
    project.program = program
    return project
