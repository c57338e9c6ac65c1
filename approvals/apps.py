from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ApprovalsConfig(AppConfig):
    name = "approvals"
    verbose_name = _("Committee review")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from ledger import machines

        machines.register("approvals.committeesession")
