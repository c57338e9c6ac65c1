from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccessConfig(AppConfig):
    name = "access"
    verbose_name = _("People and roles")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from ledger import machines

        # A person's account keeps the chain of their roles. Accounts of people who
        # were given roles before grants were audited start their chain with their
        # first audited change.
        machines.register("access.account", chain_may_start_later=True)
