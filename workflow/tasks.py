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


@shared_task(name="workflow.tasks.deadlines_tick")
def deadlines_tick(as_of: str | None = None):
    """Beat, every few minutes: remind and escalate overdue steps, then email what waits.

    Idempotent (each reminder has a unique key; each email is sent under a row lock and
    stamped), so a second tick, a redelivered message (acks_late) or a concurrent worker
    sends nothing twice. ``as_of`` (an ISO datetime) lets tests and operators move time.
    """
    from .deadlines import deadlines_check
    from .services.notifications import notifications_email_pending

    created = deadlines_check(as_of=_parse_moment(as_of))
    return {**created, "emailed": notifications_email_pending()}


def _parse_moment(value):
    from django.utils import timezone
    from django.utils.dateparse import parse_datetime

    if not value:
        return None
    moment = parse_datetime(value)
    if moment is None:
        raise ValueError(f"as_of is not an ISO datetime: {value!r}")
    return moment if timezone.is_aware(moment) else timezone.make_aware(moment)
