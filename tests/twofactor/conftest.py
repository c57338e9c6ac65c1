"""The second factor's tests: the sign-in gate on (the rest of the suite runs without it),
and people with an authenticator app set up through the services."""

import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests._second_factor import code_of
from twofactor import services


@pytest.fixture
def gate(settings):
    settings.TAMKEEN_REQUIRE_SECOND_FACTOR = True


@pytest.fixture
def with_app():
    """with_app(user) → (device, recovery codes): an authenticator app set up through the
    service, with the previous step's code, so that the current and the next step's codes
    are still to be used (by the verification after sign-in, then a step-up)."""
    def enrol(user):
        key = TOTPDevice().key
        device, codes = services.totp_enrol(actor=user, key=key, code=code_of(key, -1), name="Phone",
                                            session_verified=False)
        return TOTPDevice.objects.get(pk=device.pk), codes

    return enrol
