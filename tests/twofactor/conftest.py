"""The second factor's tests: the sign-in gate on (the rest of the suite runs without it),
and people with an authenticator app set up through the services."""

import time

import pytest
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from twofactor import services

PASSWORD = "pass-Tamkeen-2025"


@pytest.fixture
def gate(settings):
    settings.TAMKEEN_REQUIRE_SECOND_FACTOR = True


def code_of(key_or_device, steps=0) -> str:
    """The code an authenticator app holding this key shows ``steps`` time steps from now
    (a device accepts one step either side, each step once and in order)."""
    key = key_or_device.key if isinstance(key_or_device, TOTPDevice) else key_or_device
    device = TOTPDevice(key=key)
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits)
    totp.time = time.time() + steps * device.step
    return f"{totp.token():0{device.digits}d}"


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


def sign_in(client, user, password=PASSWORD):
    """Through the sign-in form, as a person does: returns the response after redirects."""
    return client.post("/accounts/login/", {"username": user.username, "password": password}, follow=True)
