"""The step-up's second factor in the forms that ask for the password again (the
release of a tranche, the confirmation of minutes): the fields to add, and what the
view hands to the service (``core.stepup.SecondFactorProof``)."""

from django import forms
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from core.stepup import SecondFactorProof
from twofactor.selectors import has_second_factor
from twofactor.verification import STEPUP_CHALLENGE_SESSION_KEY

CODE_FIELD, PASSKEY_FIELD = "otp_code", "passkey_response"


def add_second_factor(form: forms.Form, user) -> None:
    """When ``user`` has a second factor, ``form`` asks for it too: a code field, and
    the hidden field the page's script fills with a passkey's answer
    (``twofactor/static/twofactor/passkey.js``). ``form.second_factor`` says so to the
    template (``twofactor/includes/stepup_passkey.html``)."""
    form.second_factor = user is not None and _has_second_factor(user)
    if not form.second_factor:
        return
    form.fields[CODE_FIELD] = forms.CharField(
        label=_("Code of your authenticator app"), required=False, max_length=20,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "size": 12}),
        help_text=_("Or one of your recovery codes — or use your passkey instead."),
    )
    form.fields[PASSKEY_FIELD] = forms.CharField(required=False, widget=forms.HiddenInput, max_length=20000)
    form.passkey_begin_url = reverse("security:passkey_stepup_begin")


def _has_second_factor(user) -> bool:
    # Asked once per request: a page shows one form per row (the finance inbox).
    if not hasattr(user, "_tamkeen_has_second_factor"):
        user._tamkeen_has_second_factor = has_second_factor(user)
    return user._tamkeen_has_second_factor


def second_factor_proof(request, cleaned_data) -> SecondFactorProof:
    """What the user gave: the code, or the passkey's answer with the challenge this
    session was given for it (taken out of the session: it answers once)."""
    response = cleaned_data.get(PASSKEY_FIELD) or ""
    challenge = request.session.pop(STEPUP_CHALLENGE_SESSION_KEY, None) if response else None
    return SecondFactorProof(code=cleaned_data.get(CODE_FIELD) or "", passkey_response=response,
                             passkey_challenge=challenge)
