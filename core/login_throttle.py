"""Sign-in throttling, on django-axes (settings: the "Sign-in throttling" section).

``axes.backends.AxesStandaloneBackend`` comes first in ``AUTHENTICATION_BACKENDS``: a
sign-in for a locked user name, or from a locked address, is refused before any backend
checks its password. What this module adds to axes:

* ``LoginThrottle``, the attempts' handler: a user name is locked after
  ``TAMKEEN_LOGIN_FAILURE_LIMIT`` failures, an address after the larger
  ``TAMKEEN_LOGIN_ADDRESS_FAILURE_LIMIT`` (an office behind one address must not be
  locked out by one person who forgot their password); a right password forgets the
  failures of its own user name only.
* ``client_address``: the address attempts are counted by, REMOTE_ADDR unless a proxy
  header is configured.
* ``lockout_response``: the sign-in page the user posted (the site's or the
  administration's), saying how long to wait, with status 429.
"""

import ipaddress
import math

from axes.attempts import get_cool_off_threshold
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username, get_cool_off
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Sum
from django.forms.forms import NON_FIELD_ERRORS
from django.http import HttpResponse
from django.template.response import SimpleTemplateResponse
from django.utils.translation import ngettext


def _failures(attempts) -> int:
    return attempts.aggregate(total=Sum("failures_since_start"))["total"] or 0


class LoginThrottle(AxesDatabaseHandler):
    """axes' database handler with a limit per user name and a larger one per address."""

    def get_failures(self, request, credentials=None) -> int:
        """The failures that count against this sign-in, on the scale of the user-name
        limit (axes locks when they reach ``AXES_FAILURE_LIMIT``): the user name's own
        failures, or the address's scaled so that reaching the address limit reaches it."""
        recent = AccessAttempt.objects.filter(attempt_time__gte=get_cool_off_threshold(request))
        by_name = _failures(recent.filter(username=get_client_username(request, credentials)))
        by_address = _failures(recent.filter(ip_address=request.axes_ip_address))
        name_limit = settings.AXES_FAILURE_LIMIT
        address_limit = max(1, settings.TAMKEEN_LOGIN_ADDRESS_FAILURE_LIMIT)
        # floor(n * name_limit / address_limit) >= name_limit exactly when n >= address_limit.
        return max(by_name, by_address * name_limit // address_limit)

    def reset_user_attempts(self, request, credentials=None) -> int:
        """After a right password: forget that user name's failures, from every address.
        Not the address's other failures: whoever holds one account could otherwise clear
        the count of the names they are guessing from the same address by signing in."""
        username = get_client_username(request, credentials)
        count, _deleted = AccessAttempt.objects.filter(username=username).delete()
        return count


def client_address(request) -> str | None:
    """The client's address (``AXES_CLIENT_IP_CALLABLE``): with
    ``TAMKEEN_CLIENT_ADDRESS_HEADER`` set, the entry that the first of
    ``TAMKEEN_CLIENT_ADDRESS_PROXIES`` proxies appended to that header (counted from the
    right: entries further left are whatever the client sent); else, or when that entry
    is missing or not an address, REMOTE_ADDR."""
    remote_addr = request.META.get("REMOTE_ADDR")
    header = settings.TAMKEEN_CLIENT_ADDRESS_HEADER
    if not header:
        return remote_addr
    key = header.upper().replace("-", "_")
    if not key.startswith("HTTP_"):
        key = f"HTTP_{key}"
    entries = [entry.strip() for entry in request.META.get(key, "").split(",") if entry.strip()]
    if not entries:
        return remote_addr
    entry = entries[-min(len(entries), max(1, settings.TAMKEEN_CLIENT_ADDRESS_PROXIES))]
    try:
        return str(ipaddress.ip_address(entry))
    except ValueError:
        return remote_addr


def lockout_message(request=None) -> str:
    cool_off = get_cool_off(request)
    minutes = max(1, math.ceil(cool_off.total_seconds() / 60))
    return ngettext(
        "Too many failed sign-ins for this user name or from this address: signing in is "
        "blocked for up to %(minutes)d minute. Wait, or ask an administrator to unlock it.",
        "Too many failed sign-ins for this user name or from this address: signing in is "
        "blocked for up to %(minutes)d minutes. Wait, or ask an administrator to unlock it.",
        minutes,
    ) % {"minutes": minutes}


def lockout_response(request, original_response=None, credentials=None):
    """``AXES_LOCKOUT_CALLABLE``: the refused sign-in's own page (the form as posted,
    its error replaced by the lockout message), or the message alone when the refusal
    did not come from a sign-in form."""
    message = lockout_message(request)
    status = settings.AXES_HTTP_RESPONSE_CODE
    context = getattr(original_response, "context_data", None) or {}
    form = context.get("form")
    if not isinstance(original_response, SimpleTemplateResponse) or form is None:
        return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")
    form.errors[NON_FIELD_ERRORS] = form.error_class([message], error_class="nonfield", renderer=form.renderer)
    original_response.content = original_response.rendered_content
    original_response.status_code = status
    return original_response
