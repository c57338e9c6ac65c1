"""Checking a second factor: a code (an authenticator app's, or a recovery code) or a
passkey's assertion. Used when a session is verified after sign-in (``views``) and by
the step-up of ``core.stepup`` (``StepUpChecker``, registered in ``TwoFactorConfig.ready``).

A code is used up as it is checked: an authenticator app's code is refused at or before
the last time step it was accepted, a recovery code is deleted. django-otp throttles
each device after a wrong code (a growing wait); the step-up counts its failures in
its own counter as well (``core.stepup``).
"""

import json

from django.db import transaction
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp_webauthn.exceptions import OTPWebAuthnApiError
from django_otp_webauthn.models import WebAuthnCredential
from django_otp_webauthn.utils import rewrite_exceptions
from webauthn.helpers.exceptions import WebAuthnException

from twofactor import selectors

# Where a step-up's passkey challenge waits in the session, between the page asking for
# it (``views.passkeys.StepUpBeginView``) and the form that carries the answer.
STEPUP_CHALLENGE_SESSION_KEY = "tamkeen_stepup_passkey_challenge"


def clean_code(code) -> str:
    """A code as people type it: spaces and dashes dropped, recovery codes in lower case."""
    return "".join(str(code or "").split()).replace("-", "").lower()


def verify_code(user, code):
    """The device of ``user`` that accepts ``code`` (six digits: an authenticator app;
    otherwise: a recovery code, then deleted), or ``None``."""
    code = clean_code(code)
    if not code:
        return None
    model = TOTPDevice if code.isdigit() else StaticDevice
    with transaction.atomic():
        for device in model.objects.filter(user=user, confirmed=True).select_for_update():
            if device.verify_token(code):
                return device
    return None


def verify_passkey(user, challenge: dict | None, response):
    """The passkey of ``user`` that signed ``challenge`` in ``response`` (the browser's
    assertion, JSON text or already parsed), or ``None``. The challenge is single-use:
    the caller took it out of the session."""
    if not challenge or not response:
        return None
    helper = WebAuthnCredential.get_webauthn_helper(request=None)
    try:
        data = json.loads(response) if isinstance(response, str) else response
        with rewrite_exceptions(logger=None):
            device = helper.authenticate_complete(user=user, state=challenge, data=data)
    except (OTPWebAuthnApiError, WebAuthnException, ValueError, TypeError, KeyError):
        return None
    return device if device.confirmed and device.user_id == user.pk else None


class StepUpChecker:
    """The second factor of ``core.stepup.confirm_password``."""

    def has_second_factor(self, user) -> bool:
        return selectors.has_second_factor(user)

    def verify(self, user, proof) -> bool:
        if proof.passkey_response:
            return verify_passkey(user, proof.passkey_challenge, proof.passkey_response) is not None
        return verify_code(user, proof.code) is not None
