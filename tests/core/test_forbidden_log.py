"""A 403 is one WARNING line in the log (user, method, path, reason), without a
traceback; a 500 still logs its traceback."""

import logging

import pytest
from django.core.exceptions import PermissionDenied
from django.test import override_settings
from django.urls import include, path, reverse

from core.roles import Role


def refuse(request):
    raise PermissionDenied("Not your file")


def crash(request):
    raise RuntimeError("boom")


urlpatterns = [path("refuse/", refuse), path("crash/", crash), path("", include("config.urls"))]


def request_records(caplog):
    return [r for r in caplog.records if r.name == "django.request"]


@pytest.mark.django_db
@override_settings(ROOT_URLCONF=__name__)
def test_a_refusal_logs_one_line_with_user_path_and_reason(client, make_user, caplog):
    user = make_user(Role.MENTOR)
    client.force_login(user)
    with caplog.at_level(logging.INFO, logger="django.request"):
        assert client.get("/refuse/?x=1").status_code == 403
    [record] = request_records(caplog)
    assert (record.levelno, record.exc_info, record.exc_text) == (logging.WARNING, None, None)
    assert record.getMessage() == f"Forbidden (403): GET /refuse/ by user {user.pk}: Not your file"
    assert "\n" not in caplog.text.strip() and "Traceback" not in caplog.text


@pytest.mark.django_db
@override_settings(ROOT_URLCONF=__name__)
def test_an_anonymous_refusal_says_anonymous(client, caplog):
    with caplog.at_level(logging.INFO, logger="django.request"):
        assert client.post("/refuse/").status_code == 403
    [record] = request_records(caplog)
    assert record.exc_info is None
    assert record.getMessage() == "Forbidden (403): POST /refuse/ by anonymous: Not your file"


@pytest.mark.django_db
def test_a_page_refused_by_its_permission_logs_one_line(client, make_user, caplog):
    user = make_user(Role.MENTOR)  # not a finance role: the finance tray is refused
    client.force_login(user)
    url = reverse("funding:index")
    with caplog.at_level(logging.INFO, logger="django.request"):
        assert client.get(url).status_code == 403
    [record] = request_records(caplog)
    assert (record.levelno, record.exc_info) == (logging.WARNING, None)
    assert record.getMessage().startswith(f"Forbidden (403): GET {url} by user {user.pk}: ")


@pytest.mark.django_db
@override_settings(ROOT_URLCONF=__name__)
def test_a_server_error_still_logs_its_traceback(client, caplog):
    client.raise_request_exception = False
    with caplog.at_level(logging.INFO, logger="django.request"):
        assert client.get("/crash/").status_code == 500
    [record] = request_records(caplog)
    assert record.levelno == logging.ERROR
    assert record.exc_info and isinstance(record.exc_info[1], RuntimeError)
    assert "Traceback" in caplog.text and "boom" in caplog.text


def test_the_filter_rewrites_a_record_once_even_if_attached_twice(rf):
    from core.request_logging import ForbiddenOneLine

    request = rf.get("/x/")
    try:
        raise PermissionDenied("No")
    except PermissionDenied as error:
        record = logging.LogRecord("django.request", logging.WARNING, __file__, 1, "Forbidden: %s", ("/x/",),
                                   (type(error), error, error.__traceback__))
    record.status_code, record.request = 403, request
    assert ForbiddenOneLine().filter(record) and ForbiddenOneLine().filter(record)
    assert record.getMessage() == "Forbidden (403): GET /x/ by anonymous: No"
    assert record.exc_info is None
