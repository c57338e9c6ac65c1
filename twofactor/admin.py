"""Devices are changed only through ``twofactor.services`` (each change is signed on the
person's chain): django-otp's own admin pages for them are taken away. Administrators
reset a person's second factor from the security pages (``security:people``)."""

import contextlib

from django.contrib import admin
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

for model in (TOTPDevice, StaticDevice):
    with contextlib.suppress(admin.sites.NotRegistered):
        admin.site.unregister(model)
