"""The language a signed-in user reads: chosen with the switch on every page, kept as their
preference (``UserPreference.language``) and brought back when they sign in.

* ``set_language`` is Django's view of the same name (the switch posts to it): it sets the
  language cookie, and for a signed-in user it also stores the choice as their preference,
  so the next sign-in, on any browser, and their emails use it.
* Signing in (``user_logged_in``) activates the stored preference for the rest of the request
  and ``UserLanguageMiddleware`` puts it in the language cookie of the response; a user with
  no preference keeps the language they signed in with.
* Every page a signed-in user reads records its language as ``last_used_language``: their
  emails use it while they chose none (the switch is a choice).
* A signed-in user whose browser carries no language cookie (a new browser with a
  remembered session) gets their preference too, instead of the browser's Accept-Language.
"""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.utils import translation
from django.utils.translation import gettext_lazy
from django.views.i18n import set_language as django_set_language
from viewflow.workflow.models import Process, Task

from core.exceptions import InvalidInput
from core.models import UserPreference
from core.transactions import service_transaction

_PENDING = "_tamkeen_language_cookie"

# viewflow's task lists label their "brief" column with the property's bare name (English
# "Brief" in every language): give the properties the label viewflow translates elsewhere.
Task.brief.fget.short_description = gettext_lazy("Brief")
Process.brief.fget.short_description = gettext_lazy("Brief")


def _offered(language: str) -> bool:
    return language in {code for code, _name in settings.LANGUAGES}


@service_transaction
def preference_set_language(*, actor, language: str) -> UserPreference:
    """Store ``language`` as ``actor``'s preferred language (pages and emails). Any
    signed-in user may set their own. Raises InvalidInput for a language the site does not
    offer, changing nothing."""
    if not _offered(language):
        raise InvalidInput(field_errors={"language": [translation.gettext("Choose one of the offered languages.")]})
    user = get_user_model().objects.select_for_update().get(pk=actor.pk)
    preference, _created = UserPreference.objects.update_or_create(user=user, defaults={"language": language})
    return preference


def set_language(request):
    """Django's ``set_language`` (cookie and redirect to ``next``), plus the signed-in user's
    stored preference. An unknown language changes nothing, as in Django."""
    response = django_set_language(request)
    language = request.POST.get("language", "") if request.method == "POST" else ""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated and _offered(language):
        preference_set_language(actor=user, language=language)
    return response


def _stored_language(user) -> str:
    stored = UserPreference.objects.filter(user_id=user.pk).values_list("language", flat=True).first()
    return stored if stored and _offered(stored) else ""


@receiver(user_logged_in, dispatch_uid="tamkeen-language-on-login")
def activate_preferred_language(sender, request, user, **kwargs):
    """Signing in answers with a redirect: the cookie it carries makes the next page, and
    every page after it, use the preference."""
    if request is None:
        return
    stored = _stored_language(user)
    if stored:
        request.LANGUAGE_CODE = stored
        setattr(request, _PENDING, stored)


_LAST_USED = "_tamkeen_last_used_language"


def _record_last_used(request, user):
    """Keep the language this page was shown in as the user's ``last_used_language`` (the
    language of their emails while they chose none). The session remembers what was
    recorded, so only a change costs a write."""
    language = translation.get_language()
    session = getattr(request, "session", None)
    if not _offered(language) or session is None or session.get(_LAST_USED) == language:
        return
    UserPreference.objects.update_or_create(user_id=user.pk, defaults={"last_used_language": language})
    session[_LAST_USED] = language


class UserLanguageMiddleware:
    """After AuthenticationMiddleware and LocaleMiddleware: writes the cookie a sign-in asked
    for, and fills it from the preference when a signed-in user's browser has none."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if (
            settings.LANGUAGE_COOKIE_NAME not in request.COOKIES
            and user is not None
            and user.is_authenticated
        ):
            preferred = _stored_language(user)
            if preferred:
                translation.activate(preferred)
                request.LANGUAGE_CODE = preferred
                setattr(request, _PENDING, preferred)
        response = self.get_response(request)
        if user is not None and user.is_authenticated:
            _record_last_used(request, user)
        language = getattr(request, _PENDING, None)
        if language:
            response.set_cookie(
                settings.LANGUAGE_COOKIE_NAME, language,
                max_age=settings.LANGUAGE_COOKIE_AGE, path=settings.LANGUAGE_COOKIE_PATH,
                domain=settings.LANGUAGE_COOKIE_DOMAIN, secure=settings.LANGUAGE_COOKIE_SECURE,
                httponly=settings.LANGUAGE_COOKIE_HTTPONLY, samesite=settings.LANGUAGE_COOKIE_SAMESITE,
            )
        return response
