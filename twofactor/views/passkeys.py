"""The passkey ceremonies, as JSON endpoints for the browser's scripts.

Registration and the verification after sign-in are django-otp-webauthn's own views,
driven by its scripts; completing a registration goes through ``passkey_register``
instead, so that the new passkey is signed on the person's chain (and brings recovery
codes when it is their first second factor). The step-up's challenge is asked for by
``twofactor/static/twofactor/passkey.js``; its answer comes back with the form of the
act it confirms (``twofactor.stepup``).
"""

from django.http import JsonResponse
from django.middleware.csrf import get_token
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.views.decorators.cache import never_cache
from django_otp import login as otp_login
from django_otp_webauthn.exceptions import NotAuthenticated
from django_otp_webauthn.models import WebAuthnCredential
from django_otp_webauthn.views import (
    BaseWebAuthnView,
    BeginCredentialAuthenticationView,
    BeginCredentialRegistrationView,
    CompleteCredentialAuthenticationView,
    CompleteCredentialRegistrationView,
)

from core.exceptions import TamkeenError
from twofactor import services
from twofactor.verification import STEPUP_CHALLENGE_SESSION_KEY
from twofactor.views.recovery import remember_recovery_codes


def webauthn_config(request) -> dict:
    """What django-otp-webauthn's scripts read from the page (``otp_webauthn_config``):
    our endpoints, the CSRF token, where ``next`` is."""
    return {
        "autocompleteLoginFieldSelector": None,
        "nextFieldSelector": "input[name='next']",
        "csrfToken": get_token(request),
        "beginAuthenticationUrl": reverse("security:passkey_verify_begin"),
        "completeAuthenticationUrl": reverse("security:passkey_verify_complete"),
        "beginRegistrationUrl": reverse("security:passkey_register_begin"),
        "completeRegistrationUrl": reverse("security:passkey_register_complete"),
    }


RegisterBeginView = BeginCredentialRegistrationView
VerifyBeginView = BeginCredentialAuthenticationView
# Signs the session in with the passkey (django_otp.login), then the script goes to ?next=.
VerifyCompleteView = CompleteCredentialAuthenticationView


@method_decorator(never_cache, name="dispatch")
class RegisterCompleteView(CompleteCredentialRegistrationView):
    """The browser's new passkey, checked and signed by ``passkey_register``. A first
    second factor verifies the session it was made in and leaves recovery codes to show."""

    def post(self, *args, **kwargs):
        request = self.request
        user = self.get_user()
        challenge = self.get_state()
        verified = user.is_verified()
        try:
            device, codes = services.passkey_register(
                actor=user, helper=self.get_helper(), challenge=challenge, response=request.data,
                session_verified=verified)
        except TamkeenError as error:
            return JsonResponse({"detail": str(error.message), "code": error.code}, status=400)
        if not verified:
            otp_login(request, device)
        if codes:
            remember_recovery_codes(request, codes)
        return JsonResponse({"id": device.pk})


@method_decorator(never_cache, name="dispatch")
class StepUpBeginView(BaseWebAuthnView):
    """A challenge for the signed-in user's passkeys, kept in the session until the
    form of the act it confirms brings the answer back."""

    http_method_names = ["post"]

    def post(self, *args, **kwargs):
        request = self.request
        if not request.user.is_authenticated:
            raise NotAuthenticated()
        helper = WebAuthnCredential.get_webauthn_helper(request=request)
        options, challenge = helper.authenticate_begin(user=request.user, require_user_verification=False)
        request.session[STEPUP_CHALLENGE_SESSION_KEY] = challenge
        return JsonResponse(options)
