"""Every change to a person's second factor, each signed on their chain
(``twofactor.models.SecondFactor``).

A person adds an authenticator app (``totp_enrol``) or a passkey (``passkey_register``);
their first one opens the chain (``create``; ``enrol`` after a reset) and gives them
recovery codes, shown once. They remove a device (``device_remove``: refused for the
last one of a person whose role needs a second factor) and renew their recovery codes
(``recovery_codes_renew``). Someone who already has a second factor does all this only
from a session verified with it: the view hands in ``session_verified``.

An administrator who is not the person removes all of someone's devices when they lost
them (``second_factor_reset``): the entry says who, whom, why and when, and the person
enrols again at their next page.
"""

import time

from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp.util import hex_validator
from django_otp_webauthn.exceptions import OTPWebAuthnApiError
from django_otp_webauthn.models import WebAuthnCredential
from django_otp_webauthn.utils import rewrite_exceptions

from core.exceptions import InvalidInput, NotFound, SeparationOfDuties, TransitionNotAllowed
from core.input import clean_text, require_text
from core.roles import needs_second_factor, role_for
from core.transactions import service_transaction
from ledger.entries import HEAD_FIELDS, record_transition
from ledger.transitions import apply_transition, check_permission
from twofactor.exceptions import NotVerified, PasskeyRefused, SecondFactorRequired, WrongCode
from twofactor.models import FactorState, SecondFactor
from twofactor.selectors import DEVICE_MODELS, PASSKEY, devices_of, has_second_factor
from twofactor.selectors import TOTP as TOTP_KIND
from twofactor.verification import clean_code

RECOVERY_CODE_COUNT = 10
RESET = "twofactor.reset_second_factor"


@service_transaction
def totp_enrol(*, actor, key, code, name="", session_verified) -> tuple[TOTPDevice, list[str]]:
    """Add an authenticator app to ``actor``'s second factor: ``key`` is the secret the
    page showed (hex), ``code`` the six digits the app shows now. Returns the device and,
    for a first second factor, the new recovery codes (else ``[]``).

    Errors: ``second_factor_not_verified`` (``actor`` has a second factor and this session
    was not verified with it), ``invalid_input`` (a malformed key), ``wrong_code``."""
    _require_verified(actor, session_verified)
    try:
        hex_validator()(key or "")
    except Exception:  # noqa: BLE001 - django-otp's validator raises ValidationError
        raise InvalidInput(field_errors={"__all__": [_("The key of this page expired: start again.")]}) from None
    device = TOTPDevice(user=actor, key=key, name=clean_text(name)[:64] or _("Authenticator app"), confirmed=True)
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time()
    code = clean_code(code)
    if not (code.isdigit() and totp.verify(int(code), device.tolerance)):
        raise WrongCode(field_errors={"code": [str(WrongCode.default_message)]})
    device.last_t = totp.t()  # this code cannot be used again
    device.save()
    return device, _record_new_device(actor, TOTP_KIND, device.name)


@service_transaction
def passkey_register(*, actor, helper, challenge, response, session_verified) -> tuple[WebAuthnCredential, list[str]]:
    """Add a passkey to ``actor``'s second factor: ``response`` is the browser's answer
    to ``challenge`` (the registration options this session was given), checked by
    django-otp-webauthn's ``helper``. Returns the passkey and, for a first second factor,
    the new recovery codes (else ``[]``).

    Errors: ``second_factor_not_verified``, ``passkey_refused`` (no challenge, or an
    answer the helper refuses)."""
    _require_verified(actor, session_verified)
    if not challenge:
        raise PasskeyRefused()
    try:
        with rewrite_exceptions(logger=None):
            device = helper.register_complete(user=actor, state=challenge, data=response)
    except OTPWebAuthnApiError as error:
        raise PasskeyRefused(str(error)) from None
    device.name = _("Passkey of %(date)s") % {"date": date_format(timezone.localdate(), "SHORT_DATE_FORMAT")}
    device.save(update_fields=["name"])
    return device, _record_new_device(actor, PASSKEY, device.name)


@service_transaction
def device_remove(*, actor, kind, device_id, session_verified) -> None:
    """Remove one of ``actor``'s own authenticator apps or passkeys. Removing the last
    one withdraws the second factor (recovery codes go with it), which a person whose
    role needs one cannot do.

    Errors: ``not_found``, ``second_factor_not_verified``, ``second_factor_required``."""
    model = DEVICE_MODELS.get(kind)
    if model is None:
        raise NotFound()
    _require_verified(actor, session_verified)
    chain = _locked_chain(actor, actor)
    device = model.objects.filter(user=actor, pk=device_id, confirmed=True).first()
    if device is None or chain is None:
        raise NotFound()
    payload = {"device": kind, "name": device.name}
    if len(devices_of(actor)) == 1:
        if needs_second_factor(actor):
            raise SecondFactorRequired()
        device.delete()
        StaticDevice.objects.filter(user=actor).delete()
        apply_transition(chain, actor, "withdraw", payload=payload)
        return
    device.delete()
    apply_transition(chain, actor, "remove_device", payload=payload)


@service_transaction
def recovery_codes_renew(*, actor, session_verified) -> list[str]:
    """Replace ``actor``'s recovery codes by ten new ones (returned, to be shown once):
    the old ones stop working. Errors: ``second_factor_not_verified``,
    ``transition_not_allowed`` (no second factor to recover)."""
    _require_verified(actor, session_verified)
    chain = _locked_chain(actor, actor)
    if chain is None or chain.state != FactorState.ENROLLED:
        raise TransitionNotAllowed(_("Add an authenticator app or a passkey first."))
    codes = _new_recovery_codes(actor)
    apply_transition(chain, actor, "renew_codes", payload={"codes": len(codes)})
    return codes


@service_transaction
def second_factor_reset(*, actor, user_id, reason) -> dict:
    """Remove every device and recovery code of user ``user_id``, who lost them: they
    enrol again at their next page. An administrator (``twofactor.reset_second_factor``)
    who is not that user; ``reason`` is required. Signed as ``reset`` with the reason and
    what was removed; returns the counts removed.

    Errors: ``permission_denied``, ``not_found``, ``separation_of_duties`` (one's own),
    ``invalid_input`` (no reason), ``transition_not_allowed`` (nothing to reset)."""
    check_permission(actor, RESET)
    user = get_user_model().objects.filter(pk=user_id).first()
    if user is None:
        raise NotFound()
    if user.pk == actor.pk:
        raise SeparationOfDuties(_("Nobody resets their own second factor: another administrator does it."))
    reason = require_text(reason, "reason")
    chain = _locked_chain(user, actor)
    if chain is None or chain.state != FactorState.ENROLLED:
        raise TransitionNotAllowed(_("This person has no second factor to reset."))
    removed = {
        TOTP_KIND: TOTPDevice.objects.filter(user=user).count(),
        PASSKEY: WebAuthnCredential.objects.filter(user=user).count(),
        "recovery_codes": StaticToken.objects.filter(device__user=user).count(),
    }
    for model in (TOTPDevice, WebAuthnCredential, StaticDevice):
        model.objects.filter(user=user).delete()
    apply_transition(chain, actor, "reset", payload={"user": user.pk, "reason": reason, "removed": removed})
    return removed


# --- Helpers, inside the services' transactions -------------------------------------------


def _require_verified(actor, session_verified):
    if has_second_factor(actor) and not session_verified:
        raise NotVerified()


def _locked_chain(user, actor) -> SecondFactor | None:
    """``user``'s chain, locked. Devices made outside these services (a shell) open it
    first, with what they are."""
    chain = SecondFactor.objects.select_for_update().filter(user=user).first()
    if chain is None:
        devices = devices_of(user)
        if devices:
            chain = _open_chain(user, actor, {"devices": [{"device": d.kind, "name": d.name} for d in devices]})
    return chain


def _open_chain(user, actor, payload) -> SecondFactor:
    chain = SecondFactor.objects.create(user=user)
    # One's own acts are in no role (as apply_transition records transitions without a
    # permission); an administrator opening someone's chain acts as administrator.
    role = "none" if actor.pk == user.pk else role_for(actor, RESET)
    record_transition(entity=chain, transition="create", from_state="", to_state=chain.state, actor=actor,
                      role=role, payload={"user": user.pk, **payload})
    chain.save(update_fields=list(HEAD_FIELDS))
    return chain


def _record_new_device(actor, kind, name) -> list[str]:
    """Sign the new device on ``actor``'s chain; a first second factor (the chain opens,
    or comes back after a withdrawal or a reset) brings new recovery codes."""
    payload = {"device": kind, "name": name}
    chain = SecondFactor.objects.select_for_update().filter(user=actor).first()
    if chain is None:
        _open_chain(actor, actor, payload)
        return _new_recovery_codes(actor)
    if chain.state == FactorState.NOT_ENROLLED:
        apply_transition(chain, actor, "enrol", payload=payload)
        return _new_recovery_codes(actor)
    apply_transition(chain, actor, "add_device", payload=payload)
    return []


def _new_recovery_codes(user) -> list[str]:
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name=_("Recovery codes"), confirmed=True)
    codes = []
    while len(codes) < RECOVERY_CODE_COUNT:
        code = StaticToken.random_token()
        if code not in codes:
            codes.append(code)
    StaticToken.objects.bulk_create([StaticToken(device=device, token=code) for code in codes])
    return codes
