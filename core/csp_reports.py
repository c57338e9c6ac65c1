"""Where browsers report what the Content-Security-Policy blocked (docs/security.md).

The policy names this endpoint twice: ``report-uri`` (every browser: one
``application/csp-report`` object per violation) and ``report-to`` (the Reporting API of
Chromium: ``application/reports+json``, a list of reports sent later in batches). Each
violation becomes one WARNING line on the ``tamkeen.csp`` logger: the disposition
(enforce or report), the directive, what was blocked, the page's path and the file, line
and column that tried. Query strings are dropped: a page's may carry the name someone
searched for.

Anyone can post here, signed in or not, and a broken page reports on every view, so the
endpoint is cheap and bounded: a body over ``MAX_REPORT_BYTES`` is refused unread (413),
at most ``REPORTS_PER_MINUTE`` reports from one client address are logged in a minute
(429 after that), what is not a report is a 400, none of these refusals is logged, and
nothing is written to the database.
"""

import json
import logging
import time
from urllib.parse import urlsplit

from django.core.cache import cache
from django.http import HttpResponse, HttpResponseNotAllowed
from django.views.decorators.csrf import csrf_exempt

logger = logging.getLogger("tamkeen.csp")

MAX_REPORT_BYTES = 64 * 1024
REPORTS_PER_MINUTE = 30
# A batch of the Reporting API can hold many reports: beyond this many, the rest of the
# batch is dropped (the rate limit would drop them soon anyway).
MAX_REPORTS_PER_REQUEST = 20
_FIELD_LIMIT = 200


class NotAReport(ValueError):
    """The body is not a CSP violation report in either format."""


def _one_line(value, limit: int = _FIELD_LIMIT) -> str:
    """``value`` as printable ASCII on one line (control characters and newlines escaped,
    so a report cannot forge log lines), cut at ``limit`` characters."""
    text = "" if value is None else str(value)
    text = text.encode("unicode_escape").decode("ascii").replace('"', '\\"')
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _without_query(url) -> str:
    """A URL without its query string and fragment; keywords such as ``inline`` or
    ``eval`` (what the browser reports for inline code) are kept as they are."""
    text = "" if url is None else str(url)
    try:
        parts = urlsplit(text)
    except ValueError:
        return text.split("?", 1)[0].split("#", 1)[0]
    if not parts.scheme and not parts.netloc:
        return parts.path
    return f"{parts.scheme}://{parts.netloc}{parts.path}" if parts.netloc else f"{parts.scheme}:{parts.path}"


def _page_path(url) -> str:
    """The path of the page that reported: this site's pages, so the host adds nothing."""
    try:
        return urlsplit(str(url or "")).path or "?"
    except ValueError:
        return "?"


def _position(value) -> str:
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else "?"


def _from_report_uri(report: dict) -> dict:
    """A violation in the ``report-uri`` format (hyphenated keys)."""
    return {
        "disposition": report.get("disposition"),
        "directive": report.get("effective-directive") or report.get("violated-directive"),
        "blocked": report.get("blocked-uri"),
        "page": report.get("document-uri"),
        "source": report.get("source-file"),
        "line": report.get("line-number"),
        "column": report.get("column-number"),
        "sample": report.get("script-sample"),
    }


def _from_report_to(body: dict) -> dict:
    """A violation in the Reporting API's format (camelCase keys, under ``body``)."""
    return {
        "disposition": body.get("disposition"),
        "directive": body.get("effectiveDirective"),
        "blocked": body.get("blockedURL"),
        "page": body.get("documentURL"),
        "source": body.get("sourceFile"),
        "line": body.get("lineNumber"),
        "column": body.get("columnNumber"),
        "sample": body.get("sample"),
    }


def violations_in(payload) -> list[dict]:
    """The violations a decoded report body holds, in either format; raises
    ``NotAReport`` for anything else."""
    if isinstance(payload, dict) and isinstance(payload.get("csp-report"), dict):
        return [_from_report_uri(payload["csp-report"])]
    if isinstance(payload, list):
        found = [
            _from_report_to(item["body"])
            for item in payload[:MAX_REPORTS_PER_REQUEST]
            if isinstance(item, dict) and item.get("type") == "csp-violation" and isinstance(item.get("body"), dict)
        ]
        if found:
            return found
    raise NotAReport("not a CSP violation report")


def log_violation(violation: dict) -> None:
    """One WARNING line for one violation."""
    logger.warning(
        'CSP violation (%s): %s blocked "%s" on %s from %s:%s:%s sample "%s"',
        _one_line(violation["disposition"] or "enforce", 20),
        _one_line(violation["directive"] or "?", 40),
        _one_line(_without_query(violation["blocked"]) or "?"),
        _one_line(_page_path(violation["page"])),
        _one_line(_without_query(violation["source"]) or "?"),
        _position(violation["line"]),
        _position(violation["column"]),
        _one_line(violation["sample"], 80),
    )


def _take_slot(address: str) -> bool:
    """Count one report from ``address`` in the current minute; ``False`` once the
    minute's allowance is used up."""
    key = f"tamkeen:csp-reports:{address}:{int(time.time() // 60)}"
    if cache.add(key, 1, timeout=120):
        return True
    try:
        return cache.incr(key) <= REPORTS_PER_MINUTE
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=120)
        return True


def _quietly_refused(status: int) -> HttpResponse:
    """A refusal that Django does not log either (it logs every 4xx on ``django.request``):
    a flood of junk or of reports past the allowance must not become a flood of lines."""
    response = HttpResponseNotAllowed(["POST"]) if status == 405 else HttpResponse(status=status)
    response._has_been_logged = True
    return response


@csrf_exempt  # browsers post reports without a token (and often without cookies)
def csp_report(request):
    """Log the violations a browser reports: 204 when logged, 400 for a body that is not
    a report, 405 for another method than POST, 413 when the body is too large, 429 past
    the client's allowance."""
    if request.method != "POST":
        return _quietly_refused(405)
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return _quietly_refused(400)
    if declared > MAX_REPORT_BYTES:
        return _quietly_refused(413)
    body = request.read(MAX_REPORT_BYTES + 1)
    if len(body) > MAX_REPORT_BYTES:
        return _quietly_refused(413)
    try:
        violations = violations_in(json.loads(body))
    except (ValueError, RecursionError):  # bad JSON, bad UTF-8, absurd nesting, not a report
        return _quietly_refused(400)
    address = request.META.get("REMOTE_ADDR") or "unknown"
    logged = 0
    for violation in violations:
        if not _take_slot(address):
            break
        log_violation(violation)
        logged += 1
    return HttpResponse(status=204) if logged else _quietly_refused(429)
