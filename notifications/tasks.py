"""Celery tasks of notifications and deadlines. Tasks only call services."""

from celery import shared_task


@shared_task(name="notifications.tasks.deadlines_tick")
def deadlines_tick(as_of: str | None = None):
    """Beat, every few minutes: remind and escalate overdue steps, then email what waits.

    Idempotent (each reminder has a unique key; each email is sent under a row lock and
    stamped), so a second tick, a redelivered message (acks_late) or a concurrent worker
    sends nothing twice. ``as_of`` (an ISO datetime) lets tests and operators move time.
    """
    from notifications.deadlines import deadlines_check
    from notifications.services import notifications_email_pending

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
