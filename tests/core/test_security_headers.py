"""Pages, exports and files carry a Permissions-Policy and ``Cache-Control: no-store``
(personal data and money figures are never kept by a browser or a proxy); static files
keep their own caching."""

import pytest
from django.urls import reverse

from tests._web import as_user

pytestmark = pytest.mark.django_db


def assert_not_cached(response):
    assert response["Cache-Control"] == "no-store", response.get("Cache-Control")
    assert "camera=()" in response["Permissions-Policy"] and "geolocation=()" in response["Permissions-Policy"]
    assert "publickey-credentials-get=(self)" in response["Permissions-Policy"]


def test_the_login_page_and_every_main_page_are_not_cached(client, cast, make_project):
    assert_not_cached(client.get(reverse("login")))
    project = make_project("submitted")
    as_user(client, cast.officer)
    for url in ("/inbox/", reverse("projects:index"), reverse("projects:detail", args=[project.pk]),
                reverse("committees:index"), "/programs/"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert_not_cached(response)


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
