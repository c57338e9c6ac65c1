"""The request id that ties an audit entry to the HTTP request, task or command behind it."""

import uuid
from contextlib import contextmanager
from contextvars import ContextVar

_request_id: ContextVar[str] = ContextVar("tamkeen_request_id", default="")


def current_request_id() -> str:
    """The id of the request being served; a fresh one outside any request."""
    return _request_id.get() or f"local-{uuid.uuid4().hex}"


@contextmanager
def request_context(request_id: str | None = None):
    token = _request_id.set(request_id or uuid.uuid4().hex)
    try:
        yield _request_id.get()
    finally:
        _request_id.reset(token)
