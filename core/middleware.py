"""Give every request an id, carried into the audit entries it writes."""

import re
import uuid

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
