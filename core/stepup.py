"""Step-up confirmation: an actor re-enters their password before an irreversible act
(confirming committee minutes, releasing funds).

Wrong passwords are counted per user in the cache (a shared one in production:
``CACHE_URL=rediscache://…``); after ``TAMKEEN_STEPUP_MAX_FAILURES`` within
``TAMKEEN_STEPUP_WINDOW_SECONDS`` every confirmation by that user is refused
(``too_many_attempts``) until the window ends, whatever the password. The count lives
outside the database so the service's rolled-back transaction cannot erase it.
"""

from django.conf import settings
from django.core.cache import cache
from django.utils.translation import gettext as _

from core.exceptions import ReauthenticationFailed, TooManyAttempts


def _key(actor) -> str:
    return f"tamkeen:stepup-failures:{actor.pk}"


def confirm_password(actor, password, *, field: str | None = None) -> None:
    """Return when ``password`` is ``actor``'s; raise ``reauthentication_failed`` (the
    message on ``field`` when given) or, past the limit, ``too_many_attempts``."""
    limit = settings.TAMKEEN_STEPUP_MAX_FAILURES
    window = settings.TAMKEEN_STEPUP_WINDOW_SECONDS
    if cache.get(_key(actor), 0) >= limit:
        message = _("Too many wrong passwords: try again in %(minutes)s minutes.") % {
            "minutes": max(1, window // 60)}
        raise TooManyAttempts(message, field_errors={field: [message]} if field else None)
    if password and actor.check_password(password):
        cache.delete(_key(actor))
        return
    if not cache.add(_key(actor), 1, timeout=window):
        try:
            cache.incr(_key(actor))
        except ValueError:  # expired between add and incr
            cache.set(_key(actor), 1, timeout=window)
    message = _("The password is not correct.")
    raise ReauthenticationFailed(message, field_errors={field: [message]} if field else None)
