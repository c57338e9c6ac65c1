"""Per-user preferences: the language pages and emails are shown in."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class UserPreference(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="tamkeen_preference",
        verbose_name=_("user"),
    )
    language = models.CharField(
        _("language"), max_length=8, choices=settings.LANGUAGES, blank=True,
        help_text=_("Language of the pages and of the emails; empty means the site default."),
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        db_table = "workflow_userpreference"  # the table it had before the app split
        verbose_name = _("user preference")
        verbose_name_plural = _("user preferences")

    def __str__(self):
        return f"{self.user} ({self.language or '-'})"


def language_for(user) -> str:
    """The language to address ``user`` in: their preference, else the site default."""
    if user is not None and getattr(user, "pk", None):
        language = (
            UserPreference.objects.filter(user_id=user.pk).values_list("language", flat=True).first()
        )
        if language:
            return language
    return settings.LANGUAGE_CODE
