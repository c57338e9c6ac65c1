from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FollowupConfig(AppConfig):
    name = "followup"
    verbose_name = _("Post-launch follow-up")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from ledger import machines

        machines.register("followup.followupvisit")
