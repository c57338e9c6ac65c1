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
