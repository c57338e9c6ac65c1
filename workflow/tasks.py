"""Celery tasks of the workflow app (the ledger's and the deadlines' live in their apps). Tasks only call services or engine entry points."""

from celery import shared_task


@shared_task(name="workflow.tasks.fire_due_timers")
def fire_due_timers():
    """Fire viewflow's due timers (viewflow runs them only when asked)."""
    from viewflow.workflow.timers import fire_due_timers as fire

    return fire()


@shared_task(name="workflow.tasks.ping")
def ping(token: str) -> str:
    """Round-trip check used by health checks and the live-worker test."""
    return token
