"""The language switch and the per-user preference (issue 7): switching while signed in
stores the choice, signing in brings it back on any browser, and every page — the login
page included — carries the switch and says its language and direction."""

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from core.exceptions import InvalidInput
from core.i18n import preference_set_language
from core.models import UserPreference, language_for
from core.roles import Role

pytestmark = pytest.mark.django_db

PASSWORD = "pass-Tamkeen-2025"
COOKIE = settings.LANGUAGE_COOKIE_NAME


@pytest.fixture
def officer(make_user):
    return make_user(Role.PROGRAM_OFFICER, username="nawal", password=PASSWORD)


def stored(user):
    return UserPreference.objects.filter(user=user).values_list("language", flat=True).first()


def switch(client, language, next_url="/projects/"):
    return client.post(reverse("set_language"), {"language": language, "next": next_url})


def test_switching_while_signed_in_stores_the_preference_and_the_cookie(officer):
    client = Client()
    client.force_login(officer)
    response = switch(client, "ar")
    assert response.status_code == 302 and response["Location"] == "/projects/"
    assert response.cookies[COOKIE].value == "ar"
    assert stored(officer) == "ar"
    assert language_for(officer) == "ar"
    page = client.get("/projects/")
    assert '<html lang="ar" dir="rtl">' in page.content.decode()

    switch(client, "fr")
    assert stored(officer) == "fr"
    assert UserPreference.objects.filter(user=officer).count() == 1


def test_an_unknown_language_changes_nothing(officer):
    client = Client()
    client.force_login(officer)
    switch(client, "ar")
    response = switch(client, "xx")
    assert response.status_code == 302
    assert COOKIE not in response.cookies
    assert stored(officer) == "ar"


def test_switching_anonymously_sets_only_the_cookie(officer):
    client = Client()
    response = switch(client, "ar", next_url=reverse("login"))
    assert response.cookies[COOKIE].value == "ar"
    assert not UserPreference.objects.exists()
    page = client.get(reverse("login"))
    assert '<html lang="ar" dir="rtl">' in page.content.decode()


def test_signing_in_brings_back_the_preferred_language(officer):
    preference_set_language(actor=officer, language="ar")
    client = Client()
    client.cookies[COOKIE] = "fr"  # a shared computer last used in French
    response = client.post(reverse("login"), {"username": "nawal", "password": PASSWORD})
    assert response.status_code == 302
    assert response.cookies[COOKIE].value == "ar"
    page = client.get(reverse("projects:index"))
    assert '<html lang="ar" dir="rtl">' in page.content.decode()


def test_signing_in_without_a_preference_keeps_the_chosen_language(officer):
    client = Client()
    client.cookies[COOKIE] = "en"
    response = client.post(reverse("login"), {"username": "nawal", "password": PASSWORD})
    assert response.status_code == 302
    assert COOKIE not in response.cookies
    assert '<html lang="en" dir="ltr">' in client.get(reverse("projects:index")).content.decode()
    # Nothing chosen; the language read is remembered for the emails.
    assert list(UserPreference.objects.values_list("language", "last_used_language")) == [("", "en")]
    assert language_for(officer) == "en"


def test_a_failed_sign_in_does_not_switch(officer):
    preference_set_language(actor=officer, language="ar")
    client = Client()
    client.cookies[COOKIE] = "fr"
    response = client.post(reverse("login"), {"username": "nawal", "password": "wrong"})
    assert response.status_code == 200
    assert COOKIE not in response.cookies
    assert '<html lang="fr" dir="ltr">' in response.content.decode()


def test_a_new_browser_of_a_signed_in_user_gets_the_preference(officer):
    preference_set_language(actor=officer, language="ar")
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(officer)
    response = client.get(reverse("projects:index"))
    assert '<html lang="ar" dir="rtl">' in response.content.decode()
    assert response.cookies[COOKIE].value == "ar"
    # Once the browser has a cookie, the cookie decides (it follows every switch).
    client.cookies[COOKIE] = "fr"
    response = client.get(reverse("projects:index"))
    assert '<html lang="fr" dir="ltr">' in response.content.decode()
    assert COOKIE not in response.cookies


def test_the_service_refuses_a_language_the_site_does_not_offer(officer):
    with pytest.raises(InvalidInput) as error:
        preference_set_language(actor=officer, language="de")
    assert "language" in error.value.field_errors
    assert stored(officer) is None


@pytest.mark.parametrize("language, direction", [("ar", "rtl"), ("fr", "ltr"), ("en", "ltr")])
def test_the_login_page_has_the_switch_and_the_direction(language, direction):
    client = Client()
    client.cookies[COOKIE] = language
    html = client.get(reverse("login")).content.decode()
    assert f'<html lang="{language}" dir="{direction}">' in html
    assert html.count('class="tamkeen-language"') == 1
    assert f'value="{language}" lang="{language}" selected' in html
    assert "tamkeen/tamkeen.css" in html


def test_pages_that_include_the_switch_themselves_show_it_once(officer, make_user):
    chair = make_user(Role.COMMITTEE_CHAIR, Role.COMMITTEE_MEMBER)
    client = Client()
    client.force_login(chair)
    html = client.get(reverse("committees:index")).content.decode()
    assert html.count('class="tamkeen-language"') == 1
    assert reverse("set_language") in html


def test_the_ltr_filter_keeps_references_left_to_right():
    from django.template import Context, Template

    template = Template("{% load tamkeen_i18n %}{{ cin|ltr }}|{{ empty|ltr }}|{{ evil|ltr }}")
    rendered = template.render(Context({"cin": "S123456", "empty": "", "evil": "<b>x</b>"}))
    assert rendered == '<bdi dir="ltr">S123456</bdi>||<bdi dir="ltr">&lt;b&gt;x&lt;/b&gt;</bdi>'


def test_pages_load_the_javascript_catalog_of_their_language():
    client = Client()
    client.cookies[COOKIE] = "ar"
    html = client.get(reverse("login")).content.decode()
    assert f'src="{reverse("javascript-catalog")}"' in html
    catalog = client.get(reverse("javascript-catalog"))
    assert catalog.status_code == 200
    assert '"%d/%m/%Y"' in catalog.content.decode()  # the date pickers read the locale's formats
