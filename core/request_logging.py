"""A refused request (403) is one line in the log, not a traceback: who (user id or
anonymous), method, path and the reason (the exception's message). Attached to the
``django.request`` logger in ``LOGGING``; other records (a 500's traceback) pass as they are."""

import logging


def _one_line(value) -> str:
    return str(value).encode("unicode_escape").decode("ascii")


class ForbiddenOneLine(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "status_code", None) != 403 or getattr(record, "forbidden_one_line", False):
            return True  # not a 403, or already rewritten (logging configured twice adds it twice)
        record.forbidden_one_line = True
        request = getattr(record, "request", None)
        user = getattr(request, "user", None)
        who = f"user {user.pk}" if user is not None and user.is_authenticated else "anonymous"
        error = record.exc_info[1] if record.exc_info else None
        reason = str(error) if error is not None and str(error) else record.getMessage()
        record.msg = "Forbidden (403): %s %s by %s: %s"
        record.args = (getattr(request, "method", "?"), _one_line(getattr(request, "path", "?")), who,
                       _one_line(reason))
        record.levelno, record.levelname = logging.WARNING, logging.getLevelName(logging.WARNING)
        record.exc_info, record.exc_text, record.stack_info = None, None, None
        return True
