"""A session idle longer than its limit is signed out, with a message; the roles that
move money have the shorter limit; activity keeps a session alive."""

import pytest
from django.urls import reverse

from core.sessions import LAST_SEEN

pytestmark = pytest.mark.django_db


def signed_in(client, user):
    client.force_login(user)
    return client


def idle_for(client, seconds):
    session = client.session
    session[LAST_SEEN] -= seconds
    session.save()


def test_an_idle_session_is_signed_out_and_told_why(client, cast, settings):
    settings.TAMKEEN_SESSION_IDLE_SECONDS = 1800
    signed_in(client, cast.officer)
    assert client.get("/inbox/").status_code == 200
    idle_for(client, 1801)
    response = client.get("/inbox/")
    assert response.status_code == 302 and response.url.startswith(reverse("login") + "?next=/inbox/")
    page = client.get(response.url).content.decode()
    assert "signed out after 30 minutes without activity" in page
    assert client.get("/inbox/").status_code == 302  # signed out for good


def test_the_money_roles_have_the_shorter_limit(client, cast, make_user, settings):
    from core.roles import Role

    settings.TAMKEEN_SESSION_IDLE_SECONDS, settings.TAMKEEN_SESSION_IDLE_SECONDS_MONEY = 1800, 900
    treasurer = make_user(Role.TREASURER)
    signed_in(client, treasurer)
    idle_for(client, 1000)
    assert client.get(reverse("funding:index")).status_code == 302
    signed_in(client, cast.officer)
    idle_for(client, 1000)
    assert client.get("/inbox/").status_code == 200


def test_activity_keeps_a_session_alive(client, cast, settings):
    settings.TAMKEEN_SESSION_IDLE_SECONDS = 1800
    signed_in(client, cast.officer)
    idle_for(client, 1700)
    assert client.get("/inbox/").status_code == 200  # within the limit: the last activity moves
    idle_for(client, 1700)
    assert client.get("/inbox/").status_code == 200
