"""Step-up confirmation: an actor re-enters their password before an irreversible act
(confirming committee minutes, releasing funds).

Wrong passwords are counted per user in the cache (a shared one in production:
``CACHE_URL=rediscache://…``); after ``TAMKEEN_STEPUP_MAX_FAILURES`` within
``TAMKEEN_STEPUP_WINDOW_SECONDS`` every confirmation by that user is refused
(``too_many_attempts``) until the window ends, whatever the password. Each attempt is
counted atomically before its password is checked, and a right one resets the count. The count lives
outside the database so the service's rolled-back transaction cannot erase it.
"""

from django.conf import settings
from django.core.cache import cache
from django.utils.translation import gettext as _

from core.exceptions import ReauthenticationFailed, TooManyAttempts


def _key(actor) -> str:
    return f"tamkeen:stepup-failures:{actor.pk}"


def _take_slot(key: str, window: int) -> int:
    """Count this attempt, atomically (``add`` or ``incr``), and return its number in
    the window: concurrent attempts each get their own."""
    for _attempt in range(3):
        if cache.add(key, 1, timeout=window):
            return 1
        try:
            return cache.incr(key)
        except ValueError:  # expired between add and incr: add again
            continue
    cache.set(key, 1, timeout=window)
    return 1


def confirm_password(actor, password, *, field: str | None = None) -> None:
    """Return when ``password`` is ``actor``'s; raise ``reauthentication_failed`` (the
    message on ``field`` when given) or, past the limit, ``too_many_attempts``.

    The attempt takes its slot in the count before the (slow) password hash is checked,
    so simultaneous guesses cannot all read the same count: at most the limit of them
    are ever checked in a window. A right password resets the count."""
    limit = settings.TAMKEEN_STEPUP_MAX_FAILURES
    window = settings.TAMKEEN_STEPUP_WINDOW_SECONDS
    key = _key(actor)
    if _take_slot(key, window) > limit:
        message = _("Too many wrong passwords: try again in %(minutes)s minutes.") % {
            "minutes": max(1, window // 60)}
        raise TooManyAttempts(message, field_errors={field: [message]} if field else None)
    if password and actor.check_password(password):
        cache.delete(key)
        return
    message = _("The password is not correct.")
    raise ReauthenticationFailed(message, field_errors={field: [message]} if field else None)
