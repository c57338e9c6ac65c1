from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TwoFactorConfig(AppConfig):
    name = "twofactor"
    verbose_name = _("Second factor")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from ledger import machines
        from ledger.machines import Fold, payload

        # Each person's second factor has its own chain: enrolment, devices added and
        # removed, recovery codes renewed, resets by an administrator.
        machines.register("twofactor.secondfactor", fold=(Fold("user", {"create": payload("user")}),))
        # The step-up of core asks for the second factor of those who have one.
        from core import stepup
        from twofactor.verification import StepUpChecker

        stepup.register_second_factor(StepUpChecker())
