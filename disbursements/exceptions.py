"""Coded errors of funding (on top of workflow.exceptions)."""

from django.utils.translation import gettext_lazy as _

from workflow.exceptions import (
    BudgetExceeded,
    ConcurrentUpdate,
    GuardFailed,
    InvalidInput,
    NotFound,
    PermissionDenied,
    SeparationOfDuties,
    TransitionNotAllowed,
)

__all__ = [
    "BudgetExceeded", "ConcurrentUpdate", "GuardFailed", "IdempotencyKeyReused", "InvalidInput", "NotFound",
    "PermissionDenied", "ReauthenticationFailed", "SeparationOfDuties", "TransitionNotAllowed",
]


class ReauthenticationFailed(PermissionDenied):
    code = "reauthentication_failed"
    default_message = _("The password is not correct.")


class IdempotencyKeyReused(InvalidInput):
    code = "idempotency_key_reused"
    default_message = _("This request key was already used for another operation.")
