"""Step-up confirmation: an actor re-enters their password before an irreversible act
(confirming committee minutes, releasing funds) and, when they have one, gives their
second factor too (a code of their authenticator app, a recovery code, or a passkey).

Failed attempts are counted per user in the cache (a shared one in production:
``CACHE_URL=rediscache://…``); after ``TAMKEEN_STEPUP_MAX_FAILURES`` within
``TAMKEEN_STEPUP_WINDOW_SECONDS`` every confirmation by that user is refused
(``too_many_attempts``) until the window ends, whatever they give. A person's
confirmations inside a service run one at a time (an advisory lock of that person on
PostgreSQL, held until the service's transaction ends), so simultaneous guesses cannot
all read the same count — at most the limit of them are ever checked — while a right
one given twice at once (a double click) is not refused. Outside a transaction each
attempt takes its slot in the count before anything is checked. A fully right attempt
resets the count. The count lives outside the database so the service's rolled-back
transaction cannot erase it.

The second factor itself belongs to a higher app (``twofactor``), which registers its
checker here from its ``AppConfig.ready`` (``register_second_factor``): without one,
the step-up asks for the password only.
"""

from dataclasses import dataclass
from typing import Protocol

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.utils.translation import gettext as _

from core.exceptions import ReauthenticationFailed, TooManyAttempts


@dataclass(frozen=True)
class SecondFactorProof:
    """What the user gave as their second factor for one confirmation: a ``code`` (their
    authenticator app's, or a recovery code), or a passkey's assertion
    (``passkey_response``, the JSON the browser returned) with the challenge it answers
    (``passkey_challenge``, as the server kept it for this session)."""

    code: str = ""
    passkey_response: str = ""
    passkey_challenge: dict | None = None

    def __bool__(self):
        return bool(self.code.strip() or self.passkey_response)


class SecondFactorChecker(Protocol):
    def has_second_factor(self, user) -> bool:
        """Whether ``user`` has a confirmed second factor the step-up must ask for."""

    def verify(self, user, proof: SecondFactorProof) -> bool:
        """Whether ``proof`` is right for ``user`` (a code is used up as it is checked)."""


_checker: SecondFactorChecker | None = None


def register_second_factor(checker: SecondFactorChecker) -> None:
    global _checker
    _checker = checker


def has_second_factor(user) -> bool:
    """Whether the step-up asks ``user`` for a second factor."""
    return _checker is not None and _checker.has_second_factor(user)


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


def _refused(message, field):
    return ReauthenticationFailed(message, field_errors={field: [message]} if field else None)


def confirm_password(actor, password, *, second_factor: SecondFactorProof | None = None,
                     field: str | None = None, second_factor_field: str | None = None) -> None:
    """Return when ``password`` is ``actor``'s and, if ``actor`` has a second factor,
    ``second_factor`` proves it; raise ``reauthentication_failed`` (the message on
    ``field``, or on ``second_factor_field`` for the second factor, when given) or, past
    the limit, ``too_many_attempts``.

    Simultaneous attempts of one person are checked one after the other (or, outside a
    transaction, each takes its slot in the count first): at most the limit of them are
    ever checked in a window. A wrong second factor counts like a wrong password. Only
    a fully right attempt resets the count."""
    limit = settings.TAMKEEN_STEPUP_MAX_FAILURES
    window = settings.TAMKEEN_STEPUP_WINDOW_SECONDS
    key = _key(actor)
    message = _("Too many wrong passwords: try again in %(minutes)s minutes.") % {"minutes": max(1, window // 60)}
    if _one_at_a_time(actor):
        # This person's confirmations run one after the other: only failures count, and
        # simultaneous right ones (a double click, a retry) are each checked.
        if (cache.get(key) or 0) >= limit:
            raise TooManyAttempts(message, field_errors={field: [message]} if field else None)
        try:
            _check(actor, password, second_factor, field, second_factor_field)
        except ReauthenticationFailed:
            _take_slot(key, window)
            raise
    else:
        if _take_slot(key, window) > limit:
            raise TooManyAttempts(message, field_errors={field: [message]} if field else None)
        _check(actor, password, second_factor, field, second_factor_field)
    cache.delete(key)


def _one_at_a_time(actor) -> bool:
    """Serialise ``actor``'s confirmations until the caller's transaction ends: an
    advisory lock of this person on PostgreSQL (SQLite's IMMEDIATE transactions already
    run one writer at a time). Outside a transaction each attempt instead takes its slot
    in the count before it is checked."""
    if not connection.in_atomic_block:
        return False
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_LOCK_NAMESPACE, actor.pk])
    return True


# The first key of the step-up's advisory locks (the second is the person's id).
_LOCK_NAMESPACE = 0x7374_6570  # "step"


def _check(actor, password, second_factor, field, second_factor_field) -> None:
    if not (password and actor.check_password(password)):
        raise _refused(_("The password is not correct."), field)
    if has_second_factor(actor):
        if not second_factor:
            raise _refused(_("Give the code of your authenticator app, or use your passkey."),
                           second_factor_field)
        if not _checker.verify(actor, second_factor):
            raise _refused(_("This code or passkey is not correct."), second_factor_field)
