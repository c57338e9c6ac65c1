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
    # The language the user last read the pages in (cookie, browser or switch), recorded
    # by ``core.i18n.UserLanguageMiddleware``: the language of their emails while
    # ``language`` is empty.
    last_used_language = models.CharField(
        _("language last used"), max_length=8, choices=settings.LANGUAGES, blank=True,
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        db_table = "workflow_userpreference"  # the table it had before the app split
        verbose_name = _("user preference")
        verbose_name_plural = _("user preferences")

    def __str__(self):
        return f"{self.user} ({self.language or '-'})"


def language_for(user) -> str:
    """The language to address ``user`` in: the one they chose (preferences page or the
    switch in the menu), else the one they last read the pages in, else the site default
    (a user who never signed in)."""
    if user is not None and getattr(user, "pk", None):
        offered = {code for code, _name in settings.LANGUAGES}
        stored = UserPreference.objects.filter(user_id=user.pk).values_list("language", "last_used_language").first()
        for language in stored or ():
            if language in offered:
                return language
    return settings.LANGUAGE_CODE
