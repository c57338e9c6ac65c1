"""After the password, the second factor: enrolment forced on the roles that need one,
verification for whoever has one, nothing for the others."""

import pytest
from django.urls import reverse

from core.roles import SECOND_FACTOR_ROLES, Role
from tests._second_factor import code_of, sign_in

pytestmark = pytest.mark.django_db

# Written out, not read from core.roles: a change to the table must change this test too.
REQUIRED = ["admin", "auditor", "authorizing_officer", "committee_chair", "committee_member", "finance_officer",
            "treasurer"]


def test_the_table_names_the_roles_that_decide_pay_check_or_configure():
    assert sorted(role.value for role in SECOND_FACTOR_ROLES) == REQUIRED


@pytest.mark.parametrize("role", REQUIRED)
def test_a_required_role_is_taken_to_enrolment_at_its_first_sign_in(client, gate, make_user, role):
    user = make_user(role)
    response = sign_in(client, user)
    assert response.redirect_chain[-1][0].startswith(reverse("security:enrol") + "?next=")
    assert response.status_code == 200
    assert "Set up your second factor" in response.content.decode()
    # Every other page leads there too, and comes back afterwards.
    elsewhere = client.get("/funding/")
    assert elsewhere.status_code == 302
    assert elsewhere["Location"] == reverse("security:enrol") + "?next=%2Ffunding%2F"


def test_a_superuser_is_taken_to_enrolment(client, gate, django_user_model):
    admin = django_user_model.objects.create_superuser("root", "root@example.org", "pass-Tamkeen-2025")
    response = sign_in(client, admin)
    assert response.redirect_chain[-1][0].startswith(reverse("security:enrol"))


@pytest.mark.parametrize("role", [Role.ASSOCIATION_AGENT, Role.PROGRAM_OFFICER, Role.MENTOR, Role.TRAINER])
def test_other_roles_go_straight_in(client, gate, make_user, role):
    response = sign_in(client, make_user(role))
    assert response.redirect_chain[-1][0] == reverse("inbox:index")
    assert response.status_code == 200


def test_the_pages_that_finish_signing_in_stay_open(client, gate, make_user):
    client.force_login(make_user(Role.TREASURER))
    for url in (reverse("security:enrol"), reverse("security:jsi18n")):
        assert client.get(url).status_code == 200, url
    # Static files (served by WhiteNoise in front of the gate, or not at all by the test client).
    assert client.get("/static/twofactor/passkey.js").status_code != 302
    assert client.post(reverse("security:passkey_register_begin")).status_code == 200
    assert client.get(reverse("security:index")).status_code == 302
    assert client.post(reverse("logout")).status_code == 302


def test_without_the_setting_nobody_is_stopped(client, settings, make_user):
    settings.TAMKEEN_REQUIRE_SECOND_FACTOR = False
    response = sign_in(client, make_user(Role.TREASURER))
    assert response.redirect_chain[-1][0] == reverse("inbox:index")


def test_enrolling_an_authenticator_app_gives_recovery_codes_once_then_goes_on(client, gate, make_user):
    treasurer = make_user(Role.TREASURER)
    sign_in(client, treasurer)
    enrol = reverse("security:enrol") + "?next=/funding/"
    page = client.get(enrol).content.decode()
    assert "<svg" in page and "otpauth" not in page  # the QR code is drawn, the key is not in a link
    key = client.session["tamkeen_totp_pending_key"]

    wrong = client.post(enrol, {"code": "000000" if code_of(key) != "000000" else "111111"})
    assert wrong.status_code == 200
    assert "This code is not right" in wrong.content.decode()

    done = client.post(enrol, {"code": code_of(key), "name": "Phone"})
    assert done["Location"] == reverse("security:recovery_codes") + "?next=%2Ffunding%2F"
    codes = client.session["tamkeen_fresh_recovery_codes"]
    assert len(codes) == len(set(codes)) == 10
    shown = client.get(done["Location"]).content.decode()
    assert all(code in shown for code in codes)
    download = client.get(reverse("security:recovery_codes_download"))
    assert download["Content-Disposition"] == 'attachment; filename="tamkeen-recovery-codes.txt"'
    assert all(code in download.content.decode() for code in codes)
    kept = client.post(done["Location"])
    assert kept["Location"] == "/funding/"
    # Shown once: gone from the session and from the page.
    assert "tamkeen_fresh_recovery_codes" not in client.session
    assert client.get(reverse("security:recovery_codes"))["Location"] == reverse("security:index")
    # The session is verified by the enrolment itself.
    assert client.get("/funding/").status_code == 200


def test_a_person_with_an_app_verifies_it_after_the_password(client, gate, make_user, with_app):
    treasurer = make_user(Role.TREASURER)
    device, _codes = with_app(treasurer)
    response = sign_in(client, treasurer)
    verify = response.redirect_chain[-1][0]
    assert verify.startswith(reverse("security:verify"))
    assert client.get("/funding/")["Location"].startswith(reverse("security:verify"))
    # A code of another step than those the app accepts now is refused.
    refused = client.post(verify, {"code": code_of(device, 5), "next": "/funding/"})
    assert refused.status_code == 200
    assert "This code is not right" in refused.content.decode()
    assert client.get("/funding/").status_code == 302


def test_the_right_code_opens_the_session_and_cannot_serve_twice(client, gate, make_user, with_app):
    treasurer = make_user(Role.TREASURER)
    device, _codes = with_app(treasurer)
    sign_in(client, treasurer)
    code = code_of(device)
    accepted = client.post(reverse("security:verify"), {"code": code, "next": "/funding/"})
    assert accepted["Location"] == "/funding/"
    assert client.get("/funding/").status_code == 200
    # The same code in another session (a shoulder-surfed one) is refused.
    other = client.__class__(HTTP_ACCEPT_LANGUAGE="en")
    sign_in(other, treasurer)
    again = other.post(reverse("security:verify"), {"code": code, "next": "/funding/"})
    assert again.status_code == 200
    assert other.get("/funding/").status_code == 302


def test_a_recovery_code_stands_in_once(client, gate, settings, make_user, with_app):
    settings.OTP_STATIC_THROTTLE_FACTOR = 0  # no wait after the refused code (django-otp's throttle)
    chair = make_user(Role.COMMITTEE_CHAIR, Role.COMMITTEE_MEMBER)
    _device, codes = with_app(chair)
    sign_in(client, chair)
    used = client.post(reverse("security:verify"), {"code": codes[0].upper(), "next": "/"})
    assert used.status_code == 302
    assert client.get(reverse("security:index")).status_code == 200
    client.post(reverse("logout"))

    sign_in(client, chair)
    refused = client.post(reverse("security:verify"), {"code": codes[0], "next": "/"})
    assert refused.status_code == 200
    assert client.get(reverse("security:index")).status_code == 302
    assert client.post(reverse("security:verify"), {"code": codes[1], "next": "/"}).status_code == 302
    assert client.get(reverse("security:index")).status_code == 200


def test_a_wrong_code_makes_the_next_one_wait(client, gate, make_user, with_app):
    """django-otp's throttle: after a wrong code, even the right one waits a moment."""
    treasurer = make_user(Role.TREASURER)
    device, codes = with_app(treasurer)
    sign_in(client, treasurer)
    client.post(reverse("security:verify"), {"code": code_of(device, 5)})
    assert client.post(reverse("security:verify"), {"code": code_of(device)}).status_code == 200


def test_an_agent_may_set_up_a_second_factor_and_is_then_asked_for_it(client, gate, make_user, with_app):
    agent = make_user(Role.ASSOCIATION_AGENT)
    with_app(agent)
    response = sign_in(client, agent)
    assert response.redirect_chain[-1][0].startswith(reverse("security:verify"))


def test_an_unverified_session_cannot_add_a_device(client, gate, make_user, with_app):
    """Someone who has the password only cannot slip their own app in."""
    treasurer = make_user(Role.TREASURER)
    with_app(treasurer)
    sign_in(client, treasurer)
    page = client.get(reverse("security:enrol"))
    assert page["Location"].startswith(reverse("security:verify"))
    assert client.post(reverse("security:passkey_register_begin")).status_code == 403
