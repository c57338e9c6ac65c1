"""A notification says what it says in its reader's language: one event emails three
people in three languages (chosen on the preferences page, chosen with the switch in the
menu, never chosen), the language last read in the pages counts when none was chosen,
and the same in-app notification reads in Arabic, then in French."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.core import mail
from django.test import Client
from django.urls import reverse

from core.models import UserPreference, language_for
from core.roles import Role
from ledger.models import AuditEntry
from notifications.deadlines import deadlines_check
from notifications.models import Notification
from notifications.services import notifications_email_pending, preferences_update

pytestmark = pytest.mark.django_db

STEP_NAME = {"ar": "دراسة الأهلية", "fr": "Examen de l'éligibilité", "en": "Eligibility screening"}
HELLO = {"ar": "مرحبا", "fr": "Bonjour", "en": "Hello"}


def entered_at(project):
    return AuditEntry.objects.for_entity(project).order_by("-seq").first().created_at


def with_address(user, address):
    user.email = address
    user.save(update_fields=["email"])
    return user


def reading(user, language):
    """A signed-in browser showing the pages in ``language`` (its language cookie)."""
    client = Client()
    client.force_login(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return client


def test_one_event_emails_each_recipient_in_their_language(make_project, make_user, cast, settings):
    settings.LANGUAGE_CODE = "fr"  # the site default differs from both choices
    by_preference = with_address(make_user(Role.PROGRAM_OFFICER), "pref@example.org")
    preferences_update(actor=by_preference, language="ar", email_kinds=["reminder"])
    by_switch = with_address(make_user(Role.PROGRAM_OFFICER), "switch@example.org")
    switching = Client()
    switching.force_login(by_switch)
    switching.post(reverse("set_language"), {"language": "en", "next": "/"})
    by_default = with_address(cast.officer, "default@example.org")  # never chose, never read a page
    assert [language_for(u) for u in (by_preference, by_switch, by_default)] == ["ar", "en", settings.LANGUAGE_CODE]

    project = make_project("submitted")
    deadlines_check(as_of=entered_at(project) + timedelta(days=6))
    assert notifications_email_pending() == 3

    emails = {message.to[0]: message for message in mail.outbox}
    for address, language in (("pref@example.org", "ar"), ("switch@example.org", "en"),
                               ("default@example.org", "fr")):
        email = emails[address]
        assert email.extra_headers["Content-Language"] == language
        assert STEP_NAME[language] in email.subject, (language, email.subject)
        assert email.body.startswith(HELLO[language]), (language, email.body)
        assert project.reference in email.subject
    # The same event: one notification each, stored as a template and parameters.
    rows = Notification.objects.filter(template="deadline_reminder")
    assert rows.count() == 3
    assert {tuple(sorted(row.params)) for row in rows} == {
        ("days", "escalate_days", "reference", "remind_days", "since", "step", "task")}


def test_without_a_choice_the_email_is_in_the_language_last_read(make_project, make_user, cast):
    reader = with_address(cast.officer, "reader@example.org")
    reading(reader, "ar").get(reverse("notifications:index"))
    assert UserPreference.objects.get(user=reader).language == ""
    assert language_for(reader) == "ar"

    project = make_project("submitted")
    deadlines_check(as_of=entered_at(project) + timedelta(days=6))
    notifications_email_pending()
    (email,) = mail.outbox
    assert email.extra_headers["Content-Language"] == "ar"
    assert STEP_NAME["ar"] in email.subject


def test_the_email_is_in_the_language_of_the_day_it_is_sent(make_project, cast):
    officer = with_address(cast.officer, "officer@example.org")
    preferences_update(actor=officer, language="fr", email_kinds=["reminder"])
    project = make_project("submitted")
    deadlines_check(as_of=entered_at(project) + timedelta(days=6))
    preferences_update(actor=officer, language="en", email_kinds=["reminder"])
    notifications_email_pending()
    (email,) = mail.outbox
    assert STEP_NAME["en"] in email.subject and email.extra_headers["Content-Language"] == "en"


def test_the_same_notification_reads_in_arabic_then_in_french(make_project, cast):
    preferences_update(actor=cast.officer, language="fr", email_kinds=[])
    project = make_project("submitted")
    deadlines_check(as_of=entered_at(project) + timedelta(days=6))
    (notification,) = Notification.objects.filter(recipient=cast.officer)

    arabic = reading(cast.officer, "ar").get(reverse("notifications:index")).content.decode()
    assert STEP_NAME["ar"] in arabic and HELLO["ar"] in arabic
    assert STEP_NAME["fr"] not in arabic
    french = reading(cast.officer, "fr").get(reverse("notifications:index")).content.decode()
    assert STEP_NAME["fr"].replace("'", "&#x27;") in french and HELLO["fr"] in french
    assert STEP_NAME["ar"] not in french
    assert project.reference in arabic and project.reference in french
    # Reading changes nothing stored.
    notification.refresh_from_db()
    assert notification.read_at is None


def test_a_notification_written_before_keeps_its_text(cast):
    old = Notification.objects.create(
        recipient=cast.officer, kind="reminder", subject="Rappel : examen de AGR-0001",
        body="Bonjour, le dossier vous attend.", dedupe_key="old:1",
    )
    arabic = reading(cast.officer, "ar").get(reverse("notifications:index")).content.decode()
    assert old.subject in arabic and old.body in arabic
    mail.outbox.clear()
    old.email_wanted = True
    old.save(update_fields=["email_wanted"])
    cast.officer.email = "officer@example.org"
    cast.officer.save(update_fields=["email"])
    notifications_email_pending()
    assert mail.outbox[0].subject == old.subject


def test_a_page_of_notifications_costs_the_same_whatever_its_length(make_project, make_user, cast,
                                                                   django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    preferences_update(actor=cast.officer, language="fr", email_kinds=[])
    viewer = reading(cast.officer, "ar")
    project = make_project("submitted")
    deadlines_check(as_of=entered_at(project) + timedelta(days=6))
    with CaptureQueriesContext(connection) as one:
        viewer.get(reverse("notifications:index"))
    for _ in range(4):
        other = make_project("submitted")
        deadlines_check(as_of=entered_at(other) + timedelta(days=6))
    assert Notification.objects.filter(recipient=cast.officer).count() == 5
    with django_assert_max_num_queries(len(one.captured_queries)):
        page = viewer.get(reverse("notifications:index")).content.decode()
    assert page.count(STEP_NAME["ar"]) >= 5
