"""Coded errors of the second factor (on top of core.exceptions)."""

from django.utils.translation import gettext_lazy as _

from core.exceptions import InvalidInput, PermissionDenied


class WrongCode(InvalidInput):
    code = "wrong_code"
    default_message = _("This code is not right: type the one your authenticator app shows now.")


class PasskeyRefused(InvalidInput):
    code = "passkey_refused"
    default_message = _("This passkey could not be registered: try again.")


class NotVerified(PermissionDenied):
    code = "second_factor_not_verified"
    default_message = _("Confirm your second factor first: sign in again with it.")


class SecondFactorRequired(PermissionDenied):
    code = "second_factor_required"
    default_message = _("Your role needs a second factor: add another one before removing this one.")
