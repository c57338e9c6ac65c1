"""Celery tasks of the workflow app. Tasks only call services or engine entry points."""

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


@shared_task(name="workflow.tasks.integrate_ledger")
def integrate_ledger():
    """Place new audit entries in the Merkle tree and sign a checkpoint when one is due.
    Only one integrator runs at a time; a concurrent run returns at once."""
    from .audit.integrator import integrate

    result = integrate()
    return {"integrated": result.integrated, "tree_size": result.tree_size,
            "checkpoint": result.checkpoint.pk if result.checkpoint else None}
