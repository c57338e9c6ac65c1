"""Coded errors of funding (on top of core.exceptions)."""

from django.utils.translation import gettext_lazy as _

from core.exceptions import (
    BudgetExceeded,
    ConcurrentUpdate,
    GuardFailed,
    InvalidInput,
    NotFound,
    PermissionDenied,
    ReauthenticationFailed,
    SeparationOfDuties,
    TooManyAttempts,
    TransitionNotAllowed,
)

__all__ = [
    "BudgetExceeded", "ConcurrentUpdate", "GuardFailed", "IdempotencyKeyReused", "InvalidInput", "NotFound",
    "PermissionDenied", "ReauthenticationFailed", "TooManyAttempts", "SeparationOfDuties", "TransitionNotAllowed",
]


class IdempotencyKeyReused(InvalidInput):
    code = "idempotency_key_reused"
    default_message = _("This request key was already used for another operation.")
