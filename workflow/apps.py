from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _ensure_signing_keys(sender, using="default", **kwargs):
    """After migrating, make sure the ledger has its keys (a development key when allowed),
    so the first transitions never race to create one."""
    from .audit.keys import dev_keys_allowed, ensure_keys

    if dev_keys_allowed():
        ensure_keys()


class WorkflowConfig(AppConfig):
    name = "workflow"
    verbose_name = _("Projects and lifecycle")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        post_migrate.connect(_ensure_signing_keys, sender=self, dispatch_uid="tamkeen-signing-keys")
        # The grant flow registers its process model and follows project transitions
        # in every process: web server, Celery workers, management commands. Signing in
        # brings back the user's preferred language (i18n's user_logged_in receiver).
        from . import flows, i18n  # noqa: F401
