from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = _("Core")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Signing in brings back the user's preferred language (i18n's user_logged_in
        # receiver) and sets the session's idle limit (core.sessions).
        from core import i18n, sessions  # noqa: F401
