"""Reads of notifications: a user's list, their unread count (on every page, through
the context processor below) and their email preferences. Writes are in
``notifications.services``."""

from functools import partial

from notifications.models import EmailPreference, Notification, NotificationKind


def notifications_for(user, *, unread_only=False, kind=""):
    notifications = Notification.objects.filter(recipient_id=user.pk).select_related("recipient")
    if unread_only:
        notifications = notifications.filter(read_at__isnull=True)
    if kind:
        notifications = notifications.filter(kind=kind)
    return notifications.order_by("-created_at", "-pk")


def unread_count(user) -> int:
    if not getattr(user, "is_authenticated", False):
        return 0
    return Notification.objects.filter(recipient_id=user.pk, read_at__isnull=True).count()


def email_kinds_of(user) -> set[str]:
    """The kinds ``user`` receives by email (every kind unless turned off)."""
    off = set(EmailPreference.objects.filter(user_id=user.pk, by_email=False).values_list("kind", flat=True))
    return set(NotificationKind.values) - off


def unread_notifications(request):
    """Context processor: ``unread_notifications`` for the badge in the top bar. A callable,
    so a page that does not show the badge (an email, a PDF) costs no query."""
    user = getattr(request, "user", None)
    return {"unread_notifications": partial(unread_count, user)}
