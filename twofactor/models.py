"""A person's second factor, as an audited machine.

The devices themselves are django-otp's: authenticator apps (``TOTPDevice``), passkeys
(django-otp-webauthn's ``WebAuthnCredential``) and the recovery codes (a
``StaticDevice`` whose tokens are used up one by one). ``SecondFactor`` is the one row
per person whose audit chain records what happened to them — ``create`` at the first
enrolment, then ``add_device``, ``remove_device``, ``renew_codes``, ``withdraw`` (the
person removed their last device), ``reset`` (an administrator removed them all) and
``enrol`` (enrolled again). It is written only by ``twofactor.services``.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from ledger.models import AuditedModel


class FactorState(models.TextChoices):
    ENROLLED = "enrolled", _("enrolled")
    NOT_ENROLLED = "not_enrolled", _("not enrolled")


class SecondFactor(ConcurrentTransitionMixin, AuditedModel):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="second_factor", verbose_name=_("user"),
    )
    state = FSMField(_("state"), default=FactorState.ENROLLED, choices=FactorState.choices, protected=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("second factor")
        verbose_name_plural = _("second factors")
        permissions = [("reset_second_factor", "Can reset another person's second factor")]

    def __str__(self):
        return f"{self.user} ({self.get_state_display()})"

    # --- The person's own acts (the services check that the actor is the person) -------
    @transition(field=state, source=FactorState.ENROLLED, target=None)
    def add_device(self):
        pass

    @transition(field=state, source=FactorState.ENROLLED, target=None)
    def remove_device(self):
        pass

    @transition(field=state, source=FactorState.ENROLLED, target=None)
    def renew_codes(self):
        pass

    @transition(field=state, source=FactorState.ENROLLED, target=FactorState.NOT_ENROLLED)
    def withdraw(self):
        pass

    @transition(field=state, source=FactorState.NOT_ENROLLED, target=FactorState.ENROLLED)
    def enrol(self):
        pass

    # --- An administrator's, for someone who lost their devices ------------------------
    @transition(field=state, source=FactorState.ENROLLED, target=FactorState.NOT_ENROLLED,
                permission="twofactor.reset_second_factor")
    def reset(self):
        pass
