"""A treasurer's second factor in Chromium: enrolled after the first sign-in, then given
again to release a tranche — a passkey (Chromium's virtual authenticator, through the
DevTools protocol), or an authenticator app's code.

The tranche is made authorized through the services; the sign-in gate is on
(``TAMKEEN_REQUIRE_SECOND_FACTOR``, off for the rest of the suite) and passkeys belong
to the live server's origin (``http://localhost:<port>``: a secure context for the
browser, whose host is the relying party)."""

import base64
import re
from urllib.parse import urlsplit

import pytest

from core.roles import Role
from disbursements import services as funding
from disbursements.models import Disbursement
from ledger.models import AuditEntry
from tests._second_factor import code_of
from tests.browser.conftest import PASSWORD
from tests.browser.test_journeys import click_and_wait
from twofactor.models import SecondFactor

pytestmark = pytest.mark.browser


@pytest.fixture
def second_factor(site, settings):
    settings.TAMKEEN_REQUIRE_SECOND_FACTOR = True
    settings.OTP_WEBAUTHN_RP_ID = urlsplit(site.url).hostname
    settings.OTP_WEBAUTHN_ALLOWED_ORIGINS = [site.url]


@pytest.fixture
def tranche(make_project, make_user, cast):
    """An authorized tranche waiting for the treasurer, and the treasurer."""
    project = make_project("funding", amount="60000.00")
    authorizer = make_user(Role.AUTHORIZING_OFFICER, username="ordonnateur")
    d = funding.disbursement_request(project_id=project.pk, actor=cast.finance, amount="12000.00")
    funding.disbursement_authorize(disbursement_id=d.pk, actor=authorizer)
    return d, make_user(Role.TREASURER, username="comptable")


def keep_recovery_codes(page):
    """The recovery codes, shown once after the first second factor: kept, then on."""
    page.wait_for_url(re.compile(r"/security/recovery-codes/"))
    assert page.locator(".tamkeen-codes li").count() == 10
    click_and_wait(page, page.get_by_role("button", name="I have kept them: go on"))


def fill_release(page, d):
    form = page.locator(f"form[action*='/disbursements/{d.pk}/release/']")
    form.locator("input[name=password]").fill(PASSWORD)
    form.locator("input[name=payment_reference]").fill("VIR-2025-0099")
    form.locator("input[name=confirm]").check()
    return form


def released(d):
    d = Disbursement.objects.get(pk=d.pk)
    return d.state == "released" and d.payment_reference == "VIR-2025-0099"


def test_a_treasurer_enrols_a_passkey_and_releases_a_tranche_with_it(site, second_factor, tranche):
    d, treasurer = tranche
    page = site.login(treasurer)
    assert "/security/enrol/" in page.url  # the role needs a second factor: enrolment first

    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    authenticator = cdp.send("WebAuthn.addVirtualAuthenticator", {"options": {
        "protocol": "ctap2", "transport": "internal", "hasResidentKey": True,
        "hasUserVerification": True, "isUserVerified": True}})["authenticatorId"]
    page.get_by_role("button", name="Set up a passkey").click()
    keep_recovery_codes(page)
    assert len(cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})["credentials"]) == 1

    # Signing in again (a new session): the password, then the passkey.
    page.context.clear_cookies()
    page.goto("/accounts/login/?next=/funding/")
    page.locator("input[name=username]").fill(treasurer.username)
    page.locator("input[name=password]").fill(PASSWORD)
    click_and_wait(page, page.locator("form.vf-form button[type=submit]"))
    assert "/security/verify/" in page.url
    click_and_wait(page, page.get_by_role("button", name="Use my passkey"), r"/funding/$")
    site.shot(page, "signed-in-with-passkey")

    form = fill_release(page, d)
    click_and_wait(page, form.get_by_role("button", name="Release with my passkey"))
    assert released(d), page.locator("body").inner_text()
    assert d.reference in page.locator("body").inner_text()
    chain = SecondFactor.objects.get(user=treasurer)
    assert [(e.transition, e.payload["device"]) for e in AuditEntry.objects.for_entity(chain)] == [
        ("create", "passkey")]
    site.shot(page, "released-with-passkey")


def test_a_treasurer_enrols_an_authenticator_app_and_releases_a_tranche_with_its_code(site, second_factor,
                                                                                      tranche):
    d, treasurer = tranche
    page = site.login(treasurer)
    assert "/security/enrol/" in page.url
    assert page.locator(".tamkeen-qr svg").count() == 1
    # What a person types into their app: the key shown under the QR code.
    key = base64.b32decode(page.locator(".tamkeen-totp-key").inner_text().replace(" ", "")).hex()
    page.locator("input[name=code]").fill(code_of(key, -1))
    click_and_wait(page, page.get_by_role("button", name="Set up this app"))
    keep_recovery_codes(page)

    page.goto("/funding/")
    form = fill_release(page, d)
    form.locator("input[name=otp_code]").fill(code_of(key))
    click_and_wait(page, form.locator("[type=submit]"))
    assert released(d), page.locator("body").inner_text()
    site.shot(page, "released-with-app")
