"""Pages, exports and files carry a Permissions-Policy and ``Cache-Control: no-store``
(personal data and money figures are never kept by a browser or a proxy); static files
keep their own caching. Every page carries the strict Content-Security-Policy with a nonce
of its own, the one its csp-nonce meta gives Turbo."""

import re

import pytest
from django.urls import reverse

from tests._web import as_user

pytestmark = pytest.mark.django_db


def assert_not_cached(response):
    assert response["Cache-Control"] == "no-store", response.get("Cache-Control")
    assert "camera=()" in response["Permissions-Policy"] and "geolocation=()" in response["Permissions-Policy"]
    assert "publickey-credentials-get=(self)" in response["Permissions-Policy"]


def directives(header: str) -> dict[str, str]:
    return dict((part.strip().split(" ", 1) + [""])[:2] for part in header.split(";") if part.strip())


def csp_nonce_of(response) -> str:
    """The page's nonce, after checking the whole policy: scripts from this site or with
    the nonce (never inline, never eval), <style> elements likewise, style attributes
    only as the one loosening, no plugin, no <base>, forms and frames kept to this site."""
    assert "Content-Security-Policy-Report-Only" not in response
    policy = directives(response["Content-Security-Policy"])
    nonce = re.fullmatch(r"'self' 'nonce-([A-Za-z0-9+/=]{20,})'", policy["script-src"])
    assert nonce, policy["script-src"]
    assert policy["style-src"] == policy["script-src"]
    assert policy["style-src-attr"] == "'unsafe-inline'"
    assert not any("unsafe" in value for name, value in policy.items() if name != "style-src-attr"), policy
    assert policy["default-src"] == "'self'"
    assert policy["img-src"] == "'self' data:"
    assert policy["object-src"] == "'none'" and policy["frame-ancestors"] == "'none'"
    assert policy["base-uri"] == "'self'" and policy["form-action"] == "'self'"
    assert policy["report-uri"] == reverse("csp_report") and policy["report-to"] == "csp"
    assert response["Reporting-Endpoints"] == f'csp="{reverse("csp_report")}"'
    if response.get("Content-Type", "").startswith("text/html"):
        assert f'<meta name="csp-nonce" content="{nonce.group(1)}">' in response.content.decode()
    return nonce.group(1)


def test_the_login_page_and_every_main_page_are_not_cached(client, cast, make_project):
    login = client.get(reverse("login"))
    assert_not_cached(login)
    nonces = {csp_nonce_of(login)}
    project = make_project("submitted")
    as_user(client, cast.officer)
    urls = ("/inbox/", reverse("projects:index"), reverse("projects:detail", args=[project.pk]),
            reverse("committees:index"), "/programs/")
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        assert_not_cached(response)
        nonces.add(csp_nonce_of(response))
    assert len(nonces) == len(urls) + 1  # each page its own nonce


def test_two_requests_of_one_page_get_different_nonces(client, cast):
    as_user(client, cast.officer)
    first, second = client.get("/inbox/"), client.get("/inbox/")
    assert csp_nonce_of(first) != csp_nonce_of(second)


def test_report_only_mode_sends_the_same_policy_without_enforcing_it(client, settings):
    settings.CONTENT_SECURITY_POLICY_REPORT_ONLY = settings.CONTENT_SECURITY_POLICY
    settings.CONTENT_SECURITY_POLICY = None
    response = client.get(reverse("login"))
    assert "Content-Security-Policy" not in response
    policy = directives(response["Content-Security-Policy-Report-Only"])
    assert policy["script-src"].startswith("'self' 'nonce-") and policy["report-uri"] == reverse("csp_report")


def test_a_refused_page_and_an_export_are_not_cached_either(client, cast, make_project):
    project = make_project("submitted")
    as_user(client, cast.mentor)
    refused = client.get(reverse("projects:edit", args=[project.pk]))
    assert refused.status_code in (302, 403)
    assert_not_cached(refused)
    as_user(client, cast.officer)
    exported = client.get(reverse("projects:export"))
    assert exported.status_code == 200 and exported["Content-Type"].startswith("text/csv")
    assert_not_cached(exported)
