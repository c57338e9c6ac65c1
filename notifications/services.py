"""Writes of notifications: create one (once), email it (once), mark it read, and a
user's notification preferences.

Idempotency lives in the database, not in the callers:

* ``notify`` inserts a row whose ``dedupe_key`` is unique. A second call with the same
  key (a tick run twice, a redelivered Celery message, a concurrent tick on another
  worker) hits the unique index and creates nothing.
* ``notification_email`` takes the row lock (``SELECT ... FOR UPDATE SKIP LOCKED``) of a
  notification whose ``emailed_at`` is still empty, sends, and sets ``emailed_at`` in the
  same transaction. A concurrent sender either skips the locked row or, once the first
  commits, no longer finds it empty. A failed send rolls back: the next tick retries.
"""

import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.utils import timezone, translation

from core.exceptions import InvalidInput, NotFound
from core.models import UserPreference, language_for
from core.transactions import service_transaction
from notifications.messages import notification_text, render_message
from notifications.models import (
    DEFAULT_DEADLINES,
    EmailPreference,
    Notification,
    NotificationKind,
    Step,
    StepDeadline,
)

logger = logging.getLogger("tamkeen.notifications")


def email_wanted(user, kind) -> bool:
    """Whether ``user`` gets ``kind`` by email: they have an address and did not turn it off."""
    if not user.email:
        return False
    row = EmailPreference.objects.filter(user_id=user.pk, kind=kind).values_list("by_email", flat=True).first()
    return True if row is None else row


def notify(*, recipient, kind, dedupe_key, template, params, link="") -> Notification | None:
    """Create the in-app notification ``dedupe_key`` for ``recipient`` unless it exists
    already; return it, or None when it existed.

    It stores ``template`` and ``params`` (JSON: ids, codes, numbers, ISO dates — never
    translated text) and is rendered whenever it is read or emailed, in the reader's
    language then (``notifications.messages``); the text in the recipient's language
    today is kept too, for the search and the admin.

    Joins the caller's transaction when there is one (inside a savepoint, so a duplicate
    does not spoil it); the email goes out later through ``notification_email``.
    Called by services and the deadline tick, never by views.
    """
    if Notification.objects.filter(dedupe_key=dedupe_key).exists():
        return None
    subject, body = render_message(template, params, recipient=recipient, link=link,
                                   language=language_for(recipient))
    try:
        with transaction.atomic():
            return Notification.objects.create(
                recipient=recipient, kind=kind, template=template, params=params, subject=subject, body=body,
                link=link, email_wanted=email_wanted(recipient, kind), dedupe_key=dedupe_key,
            )
    except IntegrityError:
        # Another tick inserted the same key between the check and the insert.
        return None


@service_transaction
def notification_email(*, notification_id) -> bool:
    """Email one notification if it is due and not sent yet; True when this call sent it.

    The row lock and ``emailed_at`` written in the same transaction as the send make it
    at most once, whatever the concurrency; a send that raises leaves it pending.
    """
    notification = (
        Notification.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("recipient")
        .filter(pk=notification_id, email_wanted=True, emailed_at__isnull=True)
        .first()
    )
    if notification is None:
        return False
    recipient = notification.recipient
    # The language of the recipient now (their choice, else the pages they last read),
    # not the one of the day it was created.
    language = language_for(recipient)
    with translation.override(language):
        subject, body = notification_text(notification)
        if notification.link:
            label = translation.gettext("Open it in Tamkeen:")
            body = f"{body}\n\n{label} {settings.TAMKEEN_SITE_URL.rstrip('/')}{notification.link}"
    EmailMessage(
        subject=subject, body=body, from_email=settings.DEFAULT_FROM_EMAIL, to=[recipient.email],
        headers={"Content-Language": language},
    ).send(fail_silently=False)
    notification.emailed_at = timezone.now()
    notification.save(update_fields=["emailed_at"])
    return True


def notifications_email_pending(*, limit=500) -> int:
    """Email every notification still waiting for its email (oldest first); returns how
    many this call sent. One transaction per email: a failing address delays only itself."""
    pending = list(
        Notification.objects.filter(email_wanted=True, emailed_at__isnull=True)
        .order_by("created_at", "pk").values_list("pk", flat=True)[:limit]
    )
    sent = 0
    for notification_id in pending:
        try:
            sent += notification_email(notification_id=notification_id)
        except Exception:
            logger.exception("notification %s could not be emailed; it stays pending", notification_id)
    return sent


# --- the recipient's actions -----------------------------------------------------------


@service_transaction
def notification_mark_read(*, actor, notification_id) -> Notification:
    """Mark one of ``actor``'s notifications read. Raises NotFound for anyone else's."""
    try:
        notification = Notification.objects.select_for_update().get(pk=int(notification_id), recipient=actor)
    except (Notification.DoesNotExist, TypeError, ValueError):
        raise NotFound() from None
    if notification.read_at is None:
        notification.read_at = timezone.now()
        notification.save(update_fields=["read_at"])
    return notification


@service_transaction
def notifications_mark_all_read(*, actor) -> int:
    """Mark every unread notification of ``actor`` read; returns how many."""
    unread = list(
        Notification.objects.select_for_update().filter(recipient=actor, read_at__isnull=True)
    )
    now = timezone.now()
    for notification in unread:
        notification.read_at = now
    Notification.objects.bulk_update(unread, ["read_at"])
    return len(unread)


@service_transaction
def preferences_update(*, actor, language, email_kinds) -> UserPreference:
    """Set ``actor``'s language ("" for the site default) and the notification kinds they
    receive by email (the others stay in-app only). Raises InvalidInput for an unknown
    language or kind, changing nothing."""
    languages = {code for code, _name in settings.LANGUAGES}
    errors = {}
    if language and language not in languages:
        errors["language"] = [translation.gettext("Choose one of the offered languages.")]
    unknown = set(email_kinds) - set(NotificationKind.values)
    if unknown:
        errors["email_kinds"] = [translation.gettext("Unknown notification kind.")]
    if errors:
        raise InvalidInput(field_errors=errors)
    user = get_user_model().objects.select_for_update().get(pk=actor.pk)
    preference, _created = UserPreference.objects.update_or_create(user=user, defaults={"language": language})
    for kind in NotificationKind.values:
        EmailPreference.objects.update_or_create(
            user=user, kind=kind, defaults={"by_email": kind in email_kinds}
        )
    return preference



@service_transaction
def program_deadline_set(*, program_id, actor, step, remind_after_days, escalate_after_days) -> StepDeadline:
    """Set the time limits of one step for one program (reminder, then escalation, in
    days). Program officer or administrator. Signed on the program's chain as
    ``configure`` (section ``deadlines``, the step's limits before and after): the limits
    are part of what the lifecycle reads of a program, never a silent edit. A call that
    changes nothing records nothing. Raises ``PermissionDenied``, ``NotFound`` and
    ``InvalidInput`` (every wrong field at once); nothing changes on error."""
    from ledger.transitions import check_permission
    from workflow.locks import lock_program
    from workflow.services import record_program_change

    check_permission(actor, "notifications.change_stepdeadline")
    errors = {}
    if step not in Step.values:
        errors["step"] = [translation.gettext("Choose one of the steps.")]
    remind = _days(remind_after_days, "remind_after_days", 0, 365, errors)
    escalate = _days(escalate_after_days, "escalate_after_days", 1, 730, errors)
    if remind is not None and escalate is not None and escalate <= remind:
        errors["escalate_after_days"] = [translation.gettext("The escalation must come after the reminder.")]
    if errors:
        raise InvalidInput(field_errors=errors)
    program = lock_program(program_id)
    current = StepDeadline.objects.filter(program=program, step=step).first()
    before = [current.remind_after_days, current.escalate_after_days] if current else list(DEFAULT_DEADLINES[step])
    if before == [remind, escalate]:
        return current
    row, _created = StepDeadline.objects.update_or_create(
        program=program, step=step, defaults={"remind_after_days": remind, "escalate_after_days": escalate})
    record_program_change(program, actor, "deadlines", {step: {"before": before, "after": [remind, escalate]}})
    return row


def _days(value, field, low, high, errors):
    try:
        days = int(str(value).strip())
    except (TypeError, ValueError):
        errors[field] = [translation.gettext("Enter a whole number of days.")]
        return None
    if not low <= days <= high:
        errors[field] = [translation.gettext("Enter a number of days from %(low)s to %(high)s.") % {
            "low": low, "high": high}]
        return None
    return days
