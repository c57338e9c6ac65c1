"""The second factor's pages: one's security page (devices, recovery codes), enrolment
(an authenticator app by QR code or key, or a passkey), and the verification after
sign-in (a code, a recovery code or a passkey)."""

from base64 import b32encode

import segno
from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect, resolve_url
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _
from django.views import generic
from django_otp import login as otp_login
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice, default_key

from core.exceptions import TamkeenError
from core.roles import needs_second_factor
from core.views import call_with_form, failed, next_url, with_next
from twofactor import selectors, services
from twofactor.forms import TotpEnrolForm, VerifyForm
from twofactor.verification import verify_code
from twofactor.views.passkeys import webauthn_config
from twofactor.views.recovery import remember_recovery_codes

PENDING_KEY_SESSION_KEY = "tamkeen_totp_pending_key"


def _verified(request) -> bool:
    return request.user.is_verified()


class SecurityView(generic.TemplateView):
    """My second factor: my authenticator apps and passkeys, my recovery codes."""

    template_name = "twofactor/security.html"

    def get_context_data(self, **kwargs):
        user = self.request.user
        devices = selectors.devices_of(user)
        return super().get_context_data(
            devices=devices, required=needs_second_factor(user),
            last_one_kept=needs_second_factor(user) and len(devices) == 1,
            codes_left=selectors.recovery_codes_left(user) if devices else None,
            can_reset=user.has_perm(services.RESET), **kwargs)


class EnrolView(generic.TemplateView):
    """Add an authenticator app or a passkey — the first one, when the gate sends a
    person whose role needs a second factor here. The app's secret key waits in the
    session until a code proves the app has it."""

    template_name = "twofactor/enrol.html"

    def dispatch(self, request, *args, **kwargs):
        if selectors.has_second_factor(request.user) and not _verified(request):
            return redirect(with_next(reverse("security:verify"), next_url(request)))
        return super().dispatch(request, *args, **kwargs)

    def pending_key(self) -> str:
        session = self.request.session
        if not session.get(PENDING_KEY_SESSION_KEY):
            session[PENDING_KEY_SESSION_KEY] = default_key()
        return session[PENDING_KEY_SESSION_KEY]

    def post(self, request, *args, **kwargs):
        form = TotpEnrolForm(request.POST)
        if form.is_valid():
            result = call_with_form(form, lambda: services.totp_enrol(
                actor=request.user, key=self.pending_key(), code=form.cleaned_data["code"],
                name=form.cleaned_data["name"], session_verified=_verified(request)))
            if not failed(result):
                device, codes = result
                request.session.pop(PENDING_KEY_SESSION_KEY, None)
                if not _verified(request):
                    otp_login(request, device)
                messages.success(request, _("Your authenticator app is set up."))
                return self._after_enrolment(codes)
        return self.render_to_response(self.get_context_data(form=form))

    def _after_enrolment(self, codes):
        back = next_url(self.request)
        if codes:
            remember_recovery_codes(self.request, codes)
            return redirect(with_next(reverse("security:recovery_codes"), back))
        return redirect(back or "security:index")

    def get_context_data(self, **kwargs):
        user = self.request.user
        device = TOTPDevice(user=user, key=self.pending_key())
        qr = segno.make(device.config_url, error="m")
        back = next_url(self.request)
        return super().get_context_data(
            form=kwargs.pop("form", None) or TotpEnrolForm(),
            first=not selectors.has_second_factor(user), required=needs_second_factor(user),
            qr_svg=mark_safe(qr.svg_inline(scale=4, title=str(_("QR code of your authenticator app's key")))),  # noqa: S308 - segno's own SVG
            manual_key=" ".join(_groups(b32encode(device.bin_key).decode(), 4)),
            webauthn_config=webauthn_config(self.request),
            after_passkey=with_next(reverse("security:recovery_codes"), back),
            back=back, **kwargs)


def _groups(text, size):
    return [text[i:i + size] for i in range(0, len(text), size)]


class VerifyView(generic.FormView):
    """After sign-in: the code of an authenticator app, a recovery code, or a passkey
    (django-otp-webauthn's script, which comes back to ``next``)."""

    template_name = "twofactor/verify.html"
    form_class = VerifyForm

    def dispatch(self, request, *args, **kwargs):
        if _verified(request) or not selectors.has_second_factor(request.user):
            return redirect(self.get_success_url())
        return super().dispatch(request, *args, **kwargs)

    def get_initial(self):
        return {"next": self.request.GET.get("next", "")}

    def get_success_url(self):
        target = self.request.POST.get("next") or self.request.GET.get("next", "")
        if target and url_has_allowed_host_and_scheme(target, allowed_hosts={self.request.get_host()},
                                                      require_https=self.request.is_secure()):
            return target
        return resolve_url(settings.LOGIN_REDIRECT_URL)

    def form_valid(self, form):
        device = verify_code(self.request.user, form.cleaned_data["code"])
        if device is None:
            form.add_error("code", _("This code is not right, or was already used. Wait for the next one "
                                     "of your app and try again."))
            return self.form_invalid(form)
        otp_login(self.request, device)
        if isinstance(device, StaticDevice):
            messages.warning(self.request, _("You used a recovery code: %(n)d left. Renew them on your security "
                                             "page.") % {"n": selectors.recovery_codes_left(self.request.user)})
        return redirect(self.get_success_url())

    def get_context_data(self, **kwargs):
        user = self.request.user
        return super().get_context_data(
            has_passkey=any(d.kind == selectors.PASSKEY for d in selectors.devices_of(user)),
            webauthn_config=webauthn_config(self.request), **kwargs)


class DeviceRemoveView(generic.View):
    http_method_names = ["post"]

    def post(self, request, kind, pk):
        try:
            services.device_remove(actor=request.user, kind=kind, device_id=pk, session_verified=_verified(request))
        except TamkeenError as error:
            messages.error(request, str(error.message))
        else:
            messages.success(request, _("The device is removed."))
        return redirect("security:index")


class RecoveryCodesRenewView(generic.View):
    http_method_names = ["post"]

    def post(self, request):
        try:
            codes = services.recovery_codes_renew(actor=request.user, session_verified=_verified(request))
        except TamkeenError as error:
            messages.error(request, str(error.message))
            return redirect("security:index")
        remember_recovery_codes(request, codes)
        return redirect("security:recovery_codes")
