"""Sign-in throttling (security issue, item 5; core.login_throttle on django-axes).

Fifty wrong passwords on the site's sign-in page or the administration's: after the
limit every attempt is refused without its password being checked, the right password
too, with the page saying how long to wait; per user name from any address and per
address for any user name. A right password forgets its own user name's failures only.
An administrator (the admin role) sees the attempts and unlocks a user name in the
admin, or with ``manage.py axes_reset_username``; the cool-off ends a lockout by itself.
"""

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from axes.exceptions import AxesBackendRequestParameterRequired
from axes.models import AccessAttempt, AccessFailureLog
from django.contrib.auth import authenticate
from django.contrib.auth.backends import ModelBackend
from django.core.management import call_command
from django.db.models import F
from django.test import Client, RequestFactory
from django.urls import reverse

from core.login_throttle import client_address, lockout_response
from core.roles import Role

pytestmark = pytest.mark.django_db

PASSWORD = "pass-Tamkeen-2025"
LIMIT, ADDRESS_LIMIT, COOLOFF_MINUTES = 5, 20, 15
SITE, ADMIN = "/accounts/login/", "/admin/login/"
WRONG_SITE = "Please enter a correct username and password"
WRONG_ADMIN = "Please enter the correct username and password for a staff account"
LOCKED = "Too many failed sign-ins for this user name or from this address"


@pytest.fixture(autouse=True)
def _limits(settings):
    """The documented defaults, whatever the environment of the run says."""
    settings.AXES_FAILURE_LIMIT = LIMIT
    settings.TAMKEEN_LOGIN_ADDRESS_FAILURE_LIMIT = ADDRESS_LIMIT
    settings.AXES_COOLOFF_TIME = timedelta(minutes=COOLOFF_MINUTES)
    settings.TAMKEEN_CLIENT_ADDRESS_HEADER = ""


@pytest.fixture
def password_checks(monkeypatch):
    """The user names whose password a backend checked, in order."""
    checked = []
    real = ModelBackend.authenticate

    def authenticate(self, request, username=None, password=None, **kwargs):
        checked.append(username)
        return real(self, request, username=username, password=password, **kwargs)

    monkeypatch.setattr(ModelBackend, "authenticate", authenticate)
    return checked


@pytest.fixture
def treasurer(make_user):
    return make_user(Role.TREASURER, username="comptable")


@pytest.fixture
def staff(make_user):
    user = make_user(Role.ADMIN, username="rachid")
    user.is_staff = True
    user.save()
    return user


def browser(address="192.0.2.10"):
    return Client(HTTP_ACCEPT_LANGUAGE="en", REMOTE_ADDR=address)


def sign_in(client, username, password, page=SITE):
    return client.post(page, {"username": username, "password": password})


def signed_in_as(client):
    user_id = client.session.get("_auth_user_id")
    return int(user_id) if user_id else None


@pytest.mark.parametrize(("page", "wrong"), [(SITE, WRONG_SITE), (ADMIN, WRONG_ADMIN)])
def test_fifty_wrong_passwords_are_throttled_and_the_right_one_refused(
        page, wrong, staff, password_checks):
    client = browser()
    answers = [sign_in(client, staff.username, f"guess-{n}", page) for n in range(50)]

    assert [a.status_code for a in answers] == [200] * (LIMIT - 1) + [429] * (50 - LIMIT + 1)
    # Only the attempts up to the limit had their password checked.
    assert password_checks == [staff.username] * LIMIT
    for answer in answers[: LIMIT - 1]:
        assert wrong in answer.content.decode()
    locked = answers[-1].content.decode()
    assert LOCKED in locked and f"up to {COOLOFF_MINUTES} minutes" in locked
    assert "ask an administrator to unlock it" in locked and wrong not in locked
    # The same page, its form as posted: the user name kept, the password not.
    assert 'name="password"' in locked and f'value="{staff.username}"' in locked
    assert PASSWORD not in locked

    right = sign_in(client, staff.username, PASSWORD, page)
    assert right.status_code == 429 and LOCKED in right.content.decode()
    assert password_checks == [staff.username] * LIMIT
    assert signed_in_as(client) is None


def test_a_locked_user_name_is_locked_from_every_address(treasurer, password_checks):
    for n in range(LIMIT):
        sign_in(browser(f"198.51.100.{n}"), treasurer.username, "guess")
    elsewhere = browser("203.0.113.9")
    response = sign_in(elsewhere, treasurer.username, PASSWORD)
    assert response.status_code == 429 and LOCKED in response.content.decode()
    assert len(password_checks) == LIMIT and signed_in_as(elsewhere) is None


def test_many_user_names_from_one_address_lock_that_address(treasurer, password_checks):
    client = browser("192.0.2.66")
    answers = [sign_in(client, f"guess{n}", "guess") for n in range(50)]
    assert [a.status_code for a in answers] == [200] * (ADDRESS_LIMIT - 1) + [429] * (50 - ADDRESS_LIMIT + 1)
    assert len(password_checks) == ADDRESS_LIMIT

    # The right password of a user name with no failure is refused from that address...
    refused = sign_in(client, treasurer.username, PASSWORD)
    assert refused.status_code == 429 and signed_in_as(client) is None
    # ...and accepted from another one.
    other = browser("192.0.2.67")
    assert sign_in(other, treasurer.username, PASSWORD).status_code == 302
    assert signed_in_as(other) == treasurer.pk


def test_a_forwarded_for_header_does_not_escape_the_address_limit(treasurer):
    """With no proxy header configured, the address is REMOTE_ADDR, whatever a client
    writes in X-Forwarded-For."""
    client = browser("192.0.2.80")
    for n in range(ADDRESS_LIMIT):
        client.post(SITE, {"username": f"guess{n}", "password": "guess"}, HTTP_X_FORWARDED_FOR=f"10.0.0.{n}")
    response = client.post(SITE, {"username": treasurer.username, "password": PASSWORD},
                           HTTP_X_FORWARDED_FOR="10.9.9.9")
    assert response.status_code == 429


def test_the_address_limit_is_above_one_persons_lockout(treasurer, make_user):
    """Someone who forgot their password locks their own user name, not their office."""
    forgetful = make_user(Role.ASSOCIATION_AGENT, username="forgetful")
    office = browser("192.0.2.90")
    for _attempt in range(LIMIT):
        sign_in(office, forgetful.username, "guess")
    assert sign_in(office, forgetful.username, PASSWORD).status_code == 429
    assert sign_in(office, treasurer.username, PASSWORD).status_code == 302


def test_a_right_password_forgets_its_own_user_names_failures_only(treasurer, make_user):
    insider = make_user(Role.ASSOCIATION_AGENT, username="insider")
    client = browser("192.0.2.20")
    for _attempt in range(LIMIT - 1):
        assert sign_in(client, treasurer.username, "guess").status_code == 200
        assert sign_in(client, insider.username, "typo").status_code == 200
    # Signing in with one's own account clears one's own typos...
    assert sign_in(client, insider.username, PASSWORD).status_code == 302
    assert not AccessAttempt.objects.filter(username=insider.username).exists()
    # ...not the count of the user name being guessed from the same address.
    client.logout()
    assert sign_in(client, treasurer.username, "guess").status_code == 429
    assert sign_in(client, treasurer.username, PASSWORD).status_code == 429


def test_the_lockout_ends_after_the_cooloff(treasurer):
    client = browser()
    for _attempt in range(LIMIT):
        sign_in(client, treasurer.username, "guess")
    assert sign_in(client, treasurer.username, PASSWORD).status_code == 429
    # The last counted failure now lies further back than the cool-off.
    AccessAttempt.objects.update(attempt_time=F("attempt_time") - timedelta(minutes=COOLOFF_MINUTES, seconds=1))
    assert sign_in(client, treasurer.username, PASSWORD).status_code == 302
    assert signed_in_as(client) == treasurer.pk


def test_an_administrator_sees_the_lockout_and_unlocks_the_user_name_in_the_admin(treasurer, staff):
    for n in range(LIMIT):
        sign_in(browser(f"198.51.100.{n}"), treasurer.username, "guess")
    assert sign_in(browser(), treasurer.username, PASSWORD).status_code == 429

    admin = browser("192.0.2.200")
    admin.force_login(staff)
    attempts = reverse("admin:axes_accessattempt_changelist")
    listed = admin.get(attempts, {"q": treasurer.username})
    assert listed.status_code == 200
    page = listed.content.decode()
    assert treasurer.username in page and "198.51.100.4" in page
    failures = admin.get(reverse("admin:axes_accessfailurelog_changelist"), {"locked_out__exact": "1"})
    assert failures.status_code == 200 and treasurer.username in failures.content.decode()

    # Unlock: the admin's "delete selected" on the user name's attempts, confirmed.
    selected = [str(pk) for pk in AccessAttempt.objects.filter(username=treasurer.username).values_list("pk", flat=True)]
    assert len(selected) == LIMIT
    confirm = admin.post(attempts, {"action": "delete_selected", "_selected_action": selected})
    assert confirm.status_code == 200 and "Are you sure" in confirm.content.decode()
    done = admin.post(attempts, {"action": "delete_selected", "_selected_action": selected, "post": "yes"})
    assert done.status_code == 302
    assert not AccessAttempt.objects.filter(username=treasurer.username).exists()
    # The failures stay on record.
    assert AccessFailureLog.objects.filter(username=treasurer.username, locked_out=True).exists()

    client = browser()
    assert sign_in(client, treasurer.username, PASSWORD).status_code == 302
    assert signed_in_as(client) == treasurer.pk


def test_the_other_roles_do_not_see_the_attempts(make_user):
    officer = make_user(Role.PROGRAM_OFFICER, username="officer")
    officer.is_staff = True
    officer.save()
    client = browser()
    client.force_login(officer)
    assert client.get(reverse("admin:axes_accessattempt_changelist")).status_code == 403


def test_axes_reset_username_unlocks_the_user_name(treasurer):
    client = browser()
    for _attempt in range(LIMIT):
        sign_in(client, treasurer.username, "guess")
    assert sign_in(client, treasurer.username, PASSWORD).status_code == 429
    call_command("axes_reset_username", treasurer.username, stdout=open(os.devnull, "w"))  # noqa: SIM115
    assert sign_in(client, treasurer.username, PASSWORD).status_code == 302


def test_a_refusal_outside_a_sign_in_form_is_the_message_alone():
    request = RequestFactory().post("/api/token/")
    response = lockout_response(request, None, {"username": "someone"})
    assert response.status_code == 429 and LOCKED in response.content.decode()


# --- The client's address -------------------------------------------------------------------


def address_of(**meta):
    return client_address(RequestFactory().get("/", REMOTE_ADDR="192.0.2.1", **meta))


def test_the_address_is_remote_addr_unless_a_header_is_configured():
    assert address_of(HTTP_X_FORWARDED_FOR="10.0.0.1") == "192.0.2.1"


@pytest.mark.parametrize(("header", "proxies", "forwarded", "expected"), [
    ("X-Forwarded-For", 1, "10.0.0.1, 198.51.100.7", "198.51.100.7"),  # what the client wrote is ignored
    ("X-Forwarded-For", 2, "10.0.0.1, 198.51.100.7, 203.0.113.2", "198.51.100.7"),
    ("X-Forwarded-For", 3, "198.51.100.7", "198.51.100.7"),  # fewer entries than proxies
    ("HTTP_X_REAL_IP", 1, "2001:db8::1", "2001:db8::1"),
    ("X-Forwarded-For", 1, "10.0.0.1, unknown", "192.0.2.1"),  # not an address
    ("X-Forwarded-For", 1, "", "192.0.2.1"),  # not through the proxy
])
def test_the_configured_header_names_the_address(settings, header, proxies, forwarded, expected):
    settings.TAMKEEN_CLIENT_ADDRESS_HEADER = header
    settings.TAMKEEN_CLIENT_ADDRESS_PROXIES = proxies
    meta = "HTTP_X_REAL_IP" if "REAL" in header.upper() else "HTTP_X_FORWARDED_FOR"
    assert address_of(**{meta: forwarded}) == expected


def test_behind_a_proxy_each_client_is_counted_by_its_own_address(settings, treasurer):
    settings.TAMKEEN_CLIENT_ADDRESS_HEADER = "X-Forwarded-For"
    proxy = browser("10.1.1.1")  # every request comes from the proxy
    for n in range(ADDRESS_LIMIT):
        proxy.post(SITE, {"username": f"guess{n}", "password": "guess"}, HTTP_X_FORWARDED_FOR="198.51.100.50")
    assert proxy.post(SITE, {"username": treasurer.username, "password": PASSWORD},
                      HTTP_X_FORWARDED_FOR="198.51.100.50").status_code == 429
    assert proxy.post(SITE, {"username": treasurer.username, "password": PASSWORD},
                      HTTP_X_FORWARDED_FOR="198.51.100.51").status_code == 302


# --- The test suite and the settings --------------------------------------------------------


def test_the_test_clients_login_works_and_is_not_counted(treasurer):
    client = browser()
    assert client.login(username=treasurer.username, password="wrong") is False
    assert client.login(username=treasurer.username, password=PASSWORD) is True
    assert client.get(reverse("projects:index")).status_code == 200


def test_production_refuses_to_authenticate_without_a_request(settings, treasurer):
    from config import settings as configured

    assert configured.AUTHENTICATION_BACKENDS[0] == "axes.backends.AxesStandaloneBackend"
    settings.AUTHENTICATION_BACKENDS = configured.AUTHENTICATION_BACKENDS
    with pytest.raises(AxesBackendRequestParameterRequired):
        authenticate(username=treasurer.username, password=PASSWORD)


def test_the_limits_come_from_the_environment():
    code = (
        "import json, config.settings as s;"
        "print(json.dumps([s.AXES_FAILURE_LIMIT, s.TAMKEEN_LOGIN_ADDRESS_FAILURE_LIMIT,"
        " s.AXES_COOLOFF_TIME.total_seconds(), s.TAMKEEN_CLIENT_ADDRESS_HEADER,"
        " s.TAMKEEN_CLIENT_ADDRESS_PROXIES]))"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAMKEEN_LOGIN_")}
    env.update({
        "TAMKEEN_LOGIN_FAILURE_LIMIT": "7", "TAMKEEN_LOGIN_ADDRESS_FAILURE_LIMIT": "40",
        "TAMKEEN_LOGIN_COOLOFF_MINUTES": "60", "TAMKEEN_CLIENT_ADDRESS_HEADER": "X-Forwarded-For",
        "TAMKEEN_CLIENT_ADDRESS_PROXIES": "2",
    })
    done = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).resolve().parents[2], env=env,
                          capture_output=True, text=True, timeout=60, check=True)
    assert json.loads(done.stdout.strip().splitlines()[-1]) == [7, 40, 3600.0, "X-Forwarded-For", 2]
