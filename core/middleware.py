"""Give every request an id, carried into the audit entries it writes."""

import re
import uuid

from django.conf import settings

from core.request_id import request_context

_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


class RequestIdMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _SAFE_ID.match(incoming) else uuid.uuid4().hex
        with request_context(request_id):
            request.request_id = request_id
            response = self.get_response(request)
        response["X-Request-ID"] = request_id
        return response


# What the pages may use of the browser: nothing but passkeys, on this site only.
PERMISSIONS_POLICY = (
    "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), microphone=(), "
    "payment=(), usb=(), publickey-credentials-create=(self), publickey-credentials-get=(self)"
)


class SecurityHeadersMiddleware:
    """Every page, export and file this application renders carries a Permissions-Policy
    and ``Cache-Control: no-store``: personal data and money figures are never kept by a
    browser or a proxy cache. Static files never reach this middleware (WhiteNoise serves
    them before it, with their own long cache).

    ``Reporting-Endpoints`` names the endpoint that the Content-Security-Policy's
    ``report-to csp`` sends violations to (the policy itself is django-csp's, set in
    settings)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        response["Cache-Control"] = "no-store"
        response.headers.setdefault("Pragma", "no-cache")
        response.headers.setdefault("Reporting-Endpoints", f'csp="{settings.TAMKEEN_CSP_REPORT_URI}"')
        return response
