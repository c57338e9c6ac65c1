"""Coded errors of the workflow app.

Every error a user can cause carries a stable ``code`` (for API clients and tests)
and a translated message (for people). Services raise them; views render them. A
user mistake is never a 500.
"""

from django.utils.translation import gettext_lazy as _


class TamkeenError(Exception):
    """Base of every coded, user-facing error."""

    code = "error"
    default_message = _("The operation could not be completed.")

    def __init__(self, message=None, *, code=None, field_errors=None, params=None):
        self.message = message if message is not None else self.default_message
        if code:
            self.code = code
        # {"field_name": ["message", ...]}; "__all__" for errors of the whole form.
        self.field_errors = {k: [str(m) for m in v] for k, v in (field_errors or {}).items()}
        self.params = params or {}
        super().__init__(str(self.message))

    def as_dict(self):
        return {
            "code": self.code,
            "message": str(self.message),
            "field_errors": self.field_errors,
            "params": self.params,
        }


class InvalidInput(TamkeenError):
    code = "invalid_input"
    default_message = _("Some fields are not valid.")


class NotFound(TamkeenError):
    code = "not_found"
    default_message = _("The requested record does not exist.")


class PermissionDenied(TamkeenError):
    code = "permission_denied"
    default_message = _("You are not allowed to do this.")


class ReauthenticationFailed(PermissionDenied):
    """A step-up confirmation (minutes, a release) with a wrong password."""

    code = "reauthentication_failed"
    default_message = _("The password is not correct.")


class TooManyAttempts(PermissionDenied):
    """Step-up confirmations refused for a while after repeated wrong passwords."""

    code = "too_many_attempts"
    default_message = _("Too many wrong passwords: try again in a few minutes.")


class SeparationOfDuties(PermissionDenied):
    code = "separation_of_duties"
    default_message = _("The same person cannot carry out both steps of this file.")


class TransitionNotAllowed(TamkeenError):
    code = "transition_not_allowed"
    default_message = _("This action is not possible in the file's current state.")


class GuardFailed(TamkeenError):
    """A transition's conditions are not met; ``failures`` lists every unmet one."""

    code = "guard_failed"
    default_message = _("The conditions for this action are not met.")

    def __init__(self, failures, message=None, **kwargs):
        # failures: list of (code, message)
        self.failures = [(code, str(msg)) for code, msg in failures]
        kwargs.setdefault("field_errors", {"__all__": [m for _c, m in self.failures]})
        kwargs.setdefault("params", {"failures": [c for c, _m in self.failures]})
        super().__init__(message, **kwargs)


class BudgetExceeded(GuardFailed):
    code = "budget_exceeded"
    default_message = _("The amount exceeds the available budget.")


class ConcurrentUpdate(TamkeenError):
    code = "concurrent_update"
    default_message = _(
        "Someone else changed this file at the same time. Reload it and try again."
    )
