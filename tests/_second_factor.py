"""Helpers of the tests that meet the second factor: an authenticator app's codes, and
signing in through the form as a person does."""

import time

from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

PASSWORD = "pass-Tamkeen-2025"


def code_of(key_or_device, steps=0) -> str:
    """The code an authenticator app holding this key (hex) shows ``steps`` time steps
    from now (a device accepts one step either side, each step once and in order)."""
    key = key_or_device.key if isinstance(key_or_device, TOTPDevice) else key_or_device
    device = TOTPDevice(key=key)
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits)
    totp.time = time.time() + steps * device.step
    return f"{totp.token():0{device.digits}d}"


def sign_in(client, user, password=PASSWORD):
    """Through the sign-in form: returns the response after redirects."""
    return client.post("/accounts/login/", {"username": user.username, "password": password}, follow=True)
