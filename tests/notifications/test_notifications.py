"""Notifications: emailed in the recipient's language, by kind as they chose, listed
in-app with an unread count on every page, marked read; the preferences page."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.core import mail
from django.test import Client
from django.utils import timezone, translation
from django.utils.dateformat import format as date_format

from core.models import UserPreference
from core.roles import Role
from ledger.models import AuditEntry
from notifications.deadlines import deadlines_check
from notifications.models import EmailPreference, Notification, NotificationKind
from notifications.services import notifications_email_pending, notify
from notifications.tasks import deadlines_tick
from tests._pager import pager_link

pytestmark = pytest.mark.django_db


def entered_at(project):
    return AuditEntry.objects.for_entity(project).order_by("-seq").first().created_at


def speaking(make_user, language, **kwargs):
    user = make_user(Role.PROGRAM_OFFICER, **kwargs)
    UserPreference.objects.create(user=user, language=language)
    return user


def message(recipient_id, n=1, kind=NotificationKind.REMINDER, **fields):
    from django.contrib.auth.models import User

    recipient = User.objects.get(pk=recipient_id)
    created = []
    for i in range(n):
        created.append(notify(
            recipient=recipient, kind=kind, template="deadline_reminder", link=f"/projects/{i + 1}/",
            dedupe_key=f"test:{recipient_id}:{kind}:{i}:{fields.get('tag', '')}",
            params={"step": "screening", "reference": f"AGR-{i + 1:04d}",
                    "since": timezone.now().isoformat(), "days": 3, "remind_days": 1, "escalate_days": 9},
        ))
    return created


# --- emails in the recipient's language ----------------------------------------------

# The step's name comes from Tamkeen's catalogs, the month from Django's own.
STEP_NAME = {"ar": "دراسة الأهلية", "fr": "Examen de l'éligibilité", "en": "Eligibility screening"}


def is_arabic(text):
    return any("\u0600" <= ch <= "\u06ff" for ch in text)


def test_each_recipient_reads_the_reminder_in_their_own_language(make_project, make_user, cast):
    UserPreference.objects.create(user=cast.officer, language="en")
    by_language = {"ar": speaking(make_user, "ar"), "fr": speaking(make_user, "fr"), "en": cast.officer}
    for language, user in by_language.items():
        user.email = f"{language}@example.org"
        user.save(update_fields=["email"])
    project = make_project("submitted")
    since = entered_at(project)
    deadlines_tick.apply(kwargs={"as_of": (since + timedelta(days=6)).isoformat()}).get()

    emails = {m.to[0]: m for m in mail.outbox}
    assert len(mail.outbox) == len(emails) == 3
    for language, user in by_language.items():
        email = emails[f"{language}@example.org"]
        with translation.override(language):
            month = date_format(timezone.localtime(since), "F")
            link_label = translation.gettext("Open it in Tamkeen:")
        assert email.extra_headers["Content-Language"] == language
        assert STEP_NAME[language] in email.subject, (language, email.subject)
        assert STEP_NAME[language] in email.body
        assert month in email.body, (language, month, email.body)
        assert f"{link_label} {settings.TAMKEEN_SITE_URL}/projects/{project.pk}/" in email.body
        # The in-app copy is the same text.
        assert Notification.objects.get(recipient=user).subject == email.subject
    # Each in its own language and script, not one text three times.
    assert is_arabic(emails["ar@example.org"].subject)
    assert not is_arabic(emails["fr@example.org"].body + emails["en@example.org"].body)
    assert "Eligibility screening" not in emails["fr@example.org"].body


def test_without_a_preference_the_site_language_is_used(make_project, cast, settings):
    settings.LANGUAGE_CODE = "fr"
    project = make_project("submitted")
    deadlines_check(as_of=entered_at(project) + timedelta(days=6))
    assert "Examen de l'éligibilité" in Notification.objects.get(recipient=cast.officer).subject


# --- email preferences ----------------------------------------------------------------


def test_a_kind_turned_off_stays_in_app_only(make_project, make_user, cast):
    EmailPreference.objects.create(user=cast.officer, kind=NotificationKind.REMINDER, by_email=False)
    project = make_project("submitted")
    deadlines_check(as_of=entered_at(project) + timedelta(days=11))
    assert notifications_email_pending() == 1
    reminder = Notification.objects.get(kind=NotificationKind.REMINDER)
    escalation = Notification.objects.get(kind=NotificationKind.ESCALATION)
    assert (reminder.email_wanted, reminder.emailed_at) == (False, None)
    assert escalation.emailed_at is not None
    assert [m.subject for m in mail.outbox] == [escalation.subject]


def test_a_user_without_an_address_gets_the_notification_in_app(make_user):
    user = make_user(Role.MENTOR)
    user.email = ""
    user.save()
    (created,) = message(user.pk)
    assert created.email_wanted is False
    assert notifications_email_pending() == 0
    assert mail.outbox == []


def test_the_same_key_twice_is_one_notification(make_user):
    user = make_user(Role.MENTOR)
    assert message(user.pk)[0] is not None
    assert message(user.pk) == [None]
    assert Notification.objects.count() == 1


# --- in-app: list, unread count, mark read ---------------------------------------------


@pytest.fixture
def signed_in(make_user):
    def sign_in(user):
        client = Client()
        client.force_login(user)
        return client

    return sign_in


def test_the_list_shows_my_notifications_only_paginated_and_filtered(make_user, signed_in):
    me, someone = make_user(Role.MENTOR), make_user(Role.MENTOR)
    message(me.pk, n=23)
    message(someone.pk, n=1, tag="other")
    message(me.pk, n=1, kind=NotificationKind.AT_RISK, tag="risk")
    client = signed_in(me)

    page = client.get("/notifications/")
    assert page.status_code == 200
    body = page.content.decode()
    assert body.count('class="tamkeen-notification tamkeen-notification--unread"') == 20
    more = pager_link(body)
    assert client.get("/notifications/" + more).content.decode().count("tamkeen-notification--unread") == 4
    searched = client.get("/notifications/?q=AGR-0017").content.decode()
    assert searched.count("tamkeen-notification--unread") == 1
    by_kind = client.get("/notifications/?kind=at_risk").content.decode()
    assert by_kind.count("tamkeen-notification--unread") == 1
    assert "No notification matches." in client.get("/notifications/?q=nothing-like-this").content.decode()
    assert Notification.objects.filter(recipient=someone).count() == 1


def test_an_empty_list_says_so(make_user, signed_in):
    body = signed_in(make_user(Role.TREASURER)).get("/notifications/").content.decode()
    assert "No notification yet" in body


def test_the_unread_count_shows_on_every_page(make_user, signed_in):
    officer = make_user(Role.PROGRAM_OFFICER)
    message(officer.pk, n=3)
    client = signed_in(officer)
    for url in ("/projects/", "/training/", "/notifications/preferences/"):
        body = client.get(url).content.decode()
        assert 'class="tamkeen-unread-count" aria-hidden="true"' in body, url
        assert "3 unread notifications" in body, url
    Notification.objects.update(read_at=timezone.now())
    assert "tamkeen-unread-count" not in client.get("/projects/").content.decode()


def test_mark_read_mark_all_read_and_open(make_user, signed_in):
    me, someone = make_user(Role.MENTOR), make_user(Role.MENTOR)
    first, second, third = message(me.pk, n=3)
    (theirs,) = message(someone.pk, tag="theirs")
    client = signed_in(me)

    assert client.get(f"/notifications/{first.pk}/read/").status_code == 405
    response = client.post(f"/notifications/{first.pk}/read/", {"next": "/notifications/?show=unread"})
    assert response.status_code == 302 and response["Location"] == "/notifications/?show=unread"
    first.refresh_from_db()
    assert first.read_at is not None
    # Open: marked read and sent to what it is about; an outside "next" is ignored.
    response = client.post(f"/notifications/{second.pk}/read/", {"open": "1"})
    assert response["Location"] == second.link
    response = client.post(f"/notifications/{first.pk}/read/", {"next": "https://evil.example/"})
    assert response["Location"] == "/notifications/"
    # Somebody else's notification is not found, and stays unread.
    response = client.post(f"/notifications/{theirs.pk}/read/", follow=True)
    assert "The requested record does not exist." in response.content.decode()
    theirs.refresh_from_db()
    assert theirs.read_at is None

    client.post("/notifications/read-all/")
    assert not Notification.objects.filter(recipient=me, read_at__isnull=True).exists()
    third.refresh_from_db()
    assert third.read_at is not None
    assert Notification.objects.get(pk=theirs.pk).read_at is None


def test_anonymous_visitors_are_sent_to_the_login_page():
    response = Client().get("/notifications/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


# --- preferences page ------------------------------------------------------------------


def test_the_preferences_page_sets_language_and_email_kinds(make_user, signed_in):
    user = make_user(Role.MENTOR)
    client = signed_in(user)
    page = client.get("/notifications/preferences/").content.decode()
    # Every kind is emailed until turned off.
    for kind in NotificationKind.values:
        assert f'value="{kind}" ' in page and "checked" in page

    response = client.post("/notifications/preferences/", {"language": "ar", "email_kinds": ["escalation"]})
    assert response.status_code == 302
    assert UserPreference.objects.get(user=user).language == "ar"
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "ar"
    off = set(EmailPreference.objects.filter(user=user, by_email=False).values_list("kind", flat=True))
    assert off == set(NotificationKind.values) - {"escalation"}
    # The page now speaks Arabic, right to left.
    page = client.get("/notifications/preferences/", HTTP_ACCEPT_LANGUAGE="ar").content.decode()
    assert 'dir="rtl"' in page

    # What the user chose decides the next notifications.
    (reminder,) = message(user.pk, tag="after")
    assert reminder.email_wanted is False
    (escalation,) = message(user.pk, kind=NotificationKind.ESCALATION, tag="after")
    assert escalation.email_wanted is True
    assert is_arabic(reminder.body)


def test_a_bad_language_changes_nothing(make_user, signed_in):
    user = make_user(Role.MENTOR)
    response = signed_in(user).post(
        "/notifications/preferences/", {"language": "xx", "email_kinds": ["nonsense"]}
    )
    assert response.status_code == 200
    assert response.context["form"].errors.keys() == {"language", "email_kinds"}
    # The page was read (its language is recorded as the one last used), nothing chosen.
    assert not UserPreference.objects.filter(user=user).exclude(language="").exists()
    assert not EmailPreference.objects.filter(user=user).exists()
