"""Celery tasks of the reporting app."""

from celery import shared_task


@shared_task(name="reporting.tasks.refresh_dashboards")
def refresh_dashboards():
    """Recompute the kept dashboard figures of the programs that changed since they were
    computed (``reporting.services.program_figures_refresh_changed``). Idempotent: a
    second run finds nothing changed; two runs at once both succeed."""
    from reporting.services import program_figures_refresh_changed

    run = program_figures_refresh_changed()
    return {"refreshed": run.refreshed, "unchanged": run.unchanged, "all_changed": run.all_changed}


@shared_task(name="reporting.tasks.refresh_program_figures")
def refresh_program_figures(program_id):
    """Recompute one program's kept dashboard figures ("Refresh now" on a large program,
    ``reporting.services.program_figures_refresh_requested``). Idempotent: a duplicate
    delivery recomputes them again and the newest figures win; a program deleted
    meanwhile is skipped."""
    from reporting.services import program_figures_refresh
    from workflow.models import Program

    program = Program.objects.filter(pk=program_id).first()
    if program is None:
        return {"refreshed": None}
    program_figures_refresh(program=program)
    return {"refreshed": program.code}
