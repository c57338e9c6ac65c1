"""Sessions end after a while without activity: sooner for the roles that move money.

At sign-in the user's idle limit is put in the session (``TAMKEEN_SESSION_IDLE_SECONDS``,
or ``TAMKEEN_SESSION_IDLE_SECONDS_MONEY`` for finance officers, authorizing officers and
treasurers). ``IdleTimeoutMiddleware`` signs out a session idle longer than its limit and
sends the user to the sign-in page, saying why; the moment of the last activity is
written at most once a minute, so a page costs no extra query.
"""

import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import SESSION_KEY, logout
from django.contrib.auth.signals import user_logged_in
from django.contrib.auth.views import redirect_to_login
from django.dispatch import receiver
from django.utils.translation import gettext as _

from core.roles import Role, roles_of

MONEY_ROLES = {Role.FINANCE_OFFICER.value, Role.AUTHORIZING_OFFICER.value, Role.TREASURER.value}
LAST_SEEN, IDLE_LIMIT = "tamkeen_last_seen", "tamkeen_idle_seconds"
WRITE_EVERY_SECONDS = 60


def idle_limit_for(user) -> int:
    if roles_of(user) & MONEY_ROLES:
        return settings.TAMKEEN_SESSION_IDLE_SECONDS_MONEY
    return settings.TAMKEEN_SESSION_IDLE_SECONDS


@receiver(user_logged_in, dispatch_uid="core.sessions.idle_limit")
def _remember_the_idle_limit(sender, request, user, **kwargs):
    if request is not None and hasattr(request, "session"):
        request.session[IDLE_LIMIT] = idle_limit_for(user)
        request.session[LAST_SEEN] = int(time.time())


class IdleTimeoutMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        session = request.session
        if session.session_key and SESSION_KEY in session:
            now = int(time.time())
            last = session.get(LAST_SEEN)
            limit = session.get(IDLE_LIMIT, settings.TAMKEEN_SESSION_IDLE_SECONDS)
            if last is not None and now - last > limit:
                logout(request)
                messages.info(request, _("You were signed out after %(minutes)d minutes without activity: sign in "
                                         "again.") % {"minutes": limit // 60})
                return redirect_to_login(request.get_full_path())
            if last is None or now - last >= WRITE_EVERY_SECONDS:
                session[LAST_SEEN] = now
        return self.get_response(request)
