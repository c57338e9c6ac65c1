"""The Content-Security-Policy's report endpoint: one log line per violation, in both
formats browsers send; anything else gets a 4xx, never a 500, and never more lines than
the client's allowance. It needs no session, no CSRF token and no database."""

import json
import logging

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core import csp_reports

URL = "/csp-report/"

REPORT_URI_BODY = {
    "csp-report": {
        "document-uri": "http://tamkeen.example.ma/projects/12/?q=Bouazza#documents",
        "referrer": "",
        "violated-directive": "script-src-elem",
        "effective-directive": "script-src-elem",
        "original-policy": "default-src 'self'; script-src 'self' 'nonce-abc'",
        "disposition": "enforce",
        "blocked-uri": "https://cdn.example.com/x.js?token=secret",
        "line-number": 14,
        "column-number": 3,
        "source-file": "http://tamkeen.example.ma/static/tamkeen/tamkeen.js?v=2",
        "status-code": 200,
        "script-sample": "",
    }
}

REPORT_TO_BODY = [
    {
        "type": "csp-violation", "age": 10, "url": "http://tamkeen.example.ma/inbox/",
        "user_agent": "Chromium",
        "body": {
            "documentURL": "http://tamkeen.example.ma/inbox/", "blockedURL": "inline",
            "effectiveDirective": "script-src-attr", "disposition": "report", "sourceFile": None,
            "lineNumber": 1, "columnNumber": 7, "sample": "alert(1)", "originalPolicy": "…",
        },
    },
    {"type": "deprecation", "body": {"id": "x"}},
    {
        "type": "csp-violation", "age": 12, "url": "http://tamkeen.example.ma/programs/",
        "body": {"documentURL": "http://tamkeen.example.ma/programs/", "blockedURL": "inline",
                 "effectiveDirective": "style-src-elem", "disposition": "enforce"},
    },
]


@pytest.fixture(autouse=True)
def _fresh_allowance():
    cache.clear()
    yield
    cache.clear()


def post(body, content_type="application/csp-report", client=None, **extra):
    data = body if isinstance(body, bytes | str) else json.dumps(body)
    return (client or Client()).post(URL, data=data, content_type=content_type, **extra)


def csp_lines(caplog):
    return [r for r in caplog.records if r.name == "tamkeen.csp"]


def request_lines(caplog):
    """What Django logs of the refusals: nothing, or junk would flood the log anyway."""
    return [r for r in caplog.records if r.name == "django.request"]


def test_the_policy_names_this_endpoint():
    assert reverse("csp_report") == URL


def test_a_report_uri_violation_is_one_warning_line_without_query_strings(caplog):
    caplog.set_level(logging.INFO, logger="tamkeen.csp")
    # A browser posts without a CSRF token: the endpoint does not ask for one.
    response = post(REPORT_URI_BODY, client=Client(enforce_csrf_checks=True))
    assert response.status_code == 204
    [line] = csp_lines(caplog)
    assert line.levelno == logging.WARNING
    assert line.getMessage() == (
        'CSP violation (enforce): script-src-elem blocked "https://cdn.example.com/x.js" on /projects/12/ '
        'from http://tamkeen.example.ma/static/tamkeen/tamkeen.js:14:3 sample ""'
    )


def test_a_reporting_api_batch_is_one_line_per_csp_violation(caplog):
    caplog.set_level(logging.INFO, logger="tamkeen.csp")
    response = post(REPORT_TO_BODY, content_type="application/reports+json")
    assert response.status_code == 204
    assert [line.getMessage() for line in csp_lines(caplog)] == [
        'CSP violation (report): script-src-attr blocked "inline" on /inbox/ from ?:1:7 sample "alert(1)"',
        'CSP violation (enforce): style-src-elem blocked "inline" on /programs/ from ?:?:? sample ""',
    ]


def test_a_forged_line_break_stays_on_the_one_line(caplog):
    caplog.set_level(logging.INFO, logger="tamkeen.csp")
    forged = {"csp-report": {**REPORT_URI_BODY["csp-report"],
                             "effective-directive": "script-src\nCRITICAL admin logged in",
                             "script-sample": "x\r\n\x1b[31m" + "y" * 500, "line-number": "14"}}
    assert post(forged).status_code == 204
    [line] = csp_lines(caplog)
    message = line.getMessage()
    assert "\n" not in message and "\r" not in message and "\x1b" not in message
    assert "script-src\\nCRITICAL" in message and ":?:3 " in message  # a line number must be a number
    assert len(message) < 600


@pytest.mark.parametrize("body", [
    b"", b"not json", b"\xff\xfe\x00garbage", b"{", b"null", b"42", b'"csp-report"', b"[]", b"{}",
    b'{"csp-report": "inline"}', b'{"csp-report": []}', b'[{"type": "csp-violation", "body": "x"}]',
    b'[{"type": "deprecation", "body": {}}]', b"[1, 2, 3]", b"[" * 30_000 + b"]" * 30_000,
    b'{"csp-report": {"line-number": 1' + b"0" * 5000 + b"}}",
])
def test_what_is_not_a_report_is_refused_and_not_logged(caplog, body):
    caplog.set_level(logging.INFO, logger="tamkeen.csp")
    response = post(body)
    assert response.status_code in (204, 400), response.status_code
    if response.status_code == 400:
        assert csp_lines(caplog) == [] and request_lines(caplog) == []


def test_a_report_of_absurd_field_types_is_still_one_line(caplog):
    caplog.set_level(logging.INFO, logger="tamkeen.csp")
    odd = {"csp-report": {"document-uri": ["x"], "blocked-uri": {"a": 1}, "line-number": True,
                          "column-number": 1.5, "source-file": 7, "disposition": None}}
    assert post(odd).status_code == 204
    assert len(csp_lines(caplog)) == 1


def test_only_posts_are_taken(caplog):
    assert Client().get(URL).status_code == 405
    assert Client().put(URL, data=json.dumps(REPORT_URI_BODY)).status_code == 405
    assert request_lines(caplog) == []


def test_a_body_over_the_limit_is_refused_and_not_logged(caplog):
    caplog.set_level(logging.INFO, logger="tamkeen.csp")
    huge = {"csp-report": {**REPORT_URI_BODY["csp-report"], "script-sample": "x" * csp_reports.MAX_REPORT_BYTES}}
    assert post(huge).status_code == 413
    assert csp_lines(caplog) == [] and request_lines(caplog) == []


def test_a_client_past_its_allowance_is_told_so_and_no_longer_logged(caplog):
    caplog.set_level(logging.INFO, logger="tamkeen.csp")
    for _ in range(csp_reports.REPORTS_PER_MINUTE):
        assert post(REPORT_URI_BODY, REMOTE_ADDR="203.0.113.7").status_code == 204
    assert post(REPORT_URI_BODY, REMOTE_ADDR="203.0.113.7").status_code == 429
    assert len(csp_lines(caplog)) == csp_reports.REPORTS_PER_MINUTE and request_lines(caplog) == []
    # Another address keeps its own allowance.
    assert post(REPORT_URI_BODY, REMOTE_ADDR="203.0.113.8").status_code == 204


def test_a_batch_is_cut_at_the_per_request_bound(caplog):
    caplog.set_level(logging.INFO, logger="tamkeen.csp")
    batch = [REPORT_TO_BODY[0]] * (csp_reports.MAX_REPORTS_PER_REQUEST + 5)
    assert post(batch, content_type="application/reports+json").status_code == 204
    assert len(csp_lines(caplog)) == csp_reports.MAX_REPORTS_PER_REQUEST


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=50),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=20), children, max_size=4),
    max_leaves=20,
)
REPORT_KEYS = ["document-uri", "blocked-uri", "effective-directive", "violated-directive", "line-number",
               "column-number", "source-file", "disposition", "script-sample"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=st.one_of(
    JSON_VALUES.map(json.dumps),
    st.dictionaries(st.sampled_from(REPORT_KEYS), JSON_VALUES).map(lambda r: json.dumps({"csp-report": r})),
    st.lists(st.fixed_dictionaries({"type": st.just("csp-violation"), "body": JSON_VALUES})).map(json.dumps),
    st.binary(max_size=200),
))
def test_no_body_makes_a_500(body):
    cache.clear()  # the allowance would answer 429 before the parsing is tried
    assert post(body).status_code in (204, 400)
