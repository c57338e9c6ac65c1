from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class LedgerConfig(AppConfig):
    name = "ledger"
    verbose_name = _("Audit ledger")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        post_migrate.connect(_ensure_signing_keys, sender=self, dispatch_uid="tamkeen-signing-keys")


def _ensure_signing_keys(sender, using="default", **kwargs):
    """After migrating, make sure the ledger has its keys (a development key when allowed),
    so the first transitions never race to create one."""
    from ledger.keys import dev_keys_allowed, ensure_keys

    if dev_keys_allowed():
        ensure_keys()
