"""The gate after sign-in: a session is not done signing in until its second factor is.

A signed-in user who has a second factor and has not verified it in this session, or
whose role needs one (``core.roles.needs_second_factor``) and has none yet, reaches only
the pages that let them finish: the verification or the enrolment, the passkey
ceremonies behind them, signing out, the language switch and static files. Every other
page sends them there, coming back afterwards (``?next=``). Installed after
django-otp's ``OTPMiddleware`` (which says whether the session is verified), and only
enforced while ``TAMKEEN_REQUIRE_SECOND_FACTOR`` is on.
"""

import functools
from urllib.parse import urlencode

from django.conf import settings
from django.shortcuts import redirect
from django.urls import reverse

from core.roles import needs_second_factor
from twofactor.selectors import has_second_factor

# The pages of the second factor itself that an unverified session may open.
OPEN_PAGES = (
    "security:verify", "security:enrol", "security:passkey_register_begin",
    "security:passkey_register_complete", "security:passkey_verify_begin",
    "security:passkey_verify_complete", "security:jsi18n", "login", "logout",
)


@functools.cache
def _open_paths() -> frozenset:
    return frozenset(reverse(name) for name in OPEN_PAGES)


def _open_prefixes() -> tuple:
    static = "/" + settings.STATIC_URL.lstrip("/")
    return (static, "/i18n/")


def where_to_finish(user) -> str:
    """The page ``user`` must go through before any other, or ``""``."""
    if user.is_verified():
        return ""
    if has_second_factor(user):
        return "security:verify"
    if needs_second_factor(user):
        return "security:enrol"
    return ""


class SecondFactorGateMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if settings.TAMKEEN_REQUIRE_SECOND_FACTOR and request.user.is_authenticated:
            path = request.path_info
            if path not in _open_paths() and not path.startswith(_open_prefixes()):
                page = where_to_finish(request.user)
                if page:
                    back = request.get_full_path() if request.method == "GET" else ""
                    return redirect(reverse(page) + (f"?{urlencode({'next': back})}" if back else ""))
        return self.get_response(request)
