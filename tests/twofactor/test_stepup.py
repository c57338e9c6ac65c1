"""The step-up (core.stepup) asks whoever has a second factor for it as well as the
password: releasing a tranche, confirming the minutes. Wrong codes fill the same
counter as wrong passwords."""

import re

import pytest
from django.urls import reverse

from approvals import services as committee
from approvals.models import MinutesConfirmation
from core.exceptions import TamkeenError
from core.stepup import SecondFactorProof
from disbursements import services as funding
from disbursements.models import Disbursement
from tests._committee_support import PASSWORD
from tests._second_factor import code_of
from tests.approvals.test_minutes import decided_session

pytestmark = pytest.mark.django_db


@pytest.fixture
def authorized(make_project, people):
    project = make_project("funding", amount="60000.00")

    def make():
        d = funding.disbursement_request(project_id=project.pk, actor=people["finance"], amount="1000.00")
        return funding.disbursement_authorize(disbursement_id=d.pk, actor=people["authorizer"])

    return make


def release(d, treasurer, second_factor=None):
    return funding.disbursement_release(disbursement_id=d.pk, actor=treasurer, password=PASSWORD,
                                        second_factor=second_factor, payment_reference=f"VIR-{d.pk}",
                                        idempotency_key=f"k-{d.pk}")


def refused(call, code):
    with pytest.raises(TamkeenError) as caught:
        call()
    assert caught.value.code == code, caught.value.as_dict()
    return caught.value


def state_of(d):
    return Disbursement.objects.get(pk=d.pk).state


def test_without_a_second_factor_the_password_is_enough(people, authorized):
    d = authorized()
    assert release(d, people["treasurer"]).state == "released"


def test_a_treasurer_with_an_app_is_refused_without_its_code(people, authorized, with_app):
    treasurer = people["treasurer"]
    with_app(treasurer)
    d = authorized()
    error = refused(lambda: release(d, treasurer), "reauthentication_failed")
    assert error.field_errors == {"otp_code": ["Give the code of your authenticator app, or use your passkey."]}
    error = refused(lambda: release(d, treasurer, SecondFactorProof(code="123456")), "reauthentication_failed")
    assert error.field_errors == {"otp_code": ["This code or passkey is not correct."]}
    assert state_of(d) == "authorized"


def test_a_treasurer_with_an_app_releases_with_its_code(people, authorized, with_app):
    treasurer = people["treasurer"]
    device, codes = with_app(treasurer)
    d = authorized()
    assert release(d, treasurer, SecondFactorProof(code=code_of(device))).state == "released"
    # A recovery code stands in for the app, once.
    other = authorized()
    assert release(other, treasurer, SecondFactorProof(code=codes[0])).state == "released"
    third = authorized()
    refused(lambda: release(third, treasurer, SecondFactorProof(code=codes[0])), "reauthentication_failed")


def test_wrong_codes_fill_the_counter_of_wrong_passwords(people, authorized, with_app, settings):
    settings.TAMKEEN_STEPUP_MAX_FAILURES = 3
    treasurer = people["treasurer"]
    device, _codes = with_app(treasurer)
    d = authorized()
    for _attempt in range(3):
        refused(lambda: release(d, treasurer, SecondFactorProof(code="000000")), "reauthentication_failed")
    refused(lambda: release(d, treasurer, SecondFactorProof(code=code_of(device))), "too_many_attempts")
    assert state_of(d) == "authorized"


def test_the_release_form_asks_for_the_code(client, people, authorized, with_app):
    treasurer = people["treasurer"]
    device, _codes = with_app(treasurer)
    d = authorized()
    client.force_login(treasurer)
    html = client.get(reverse("funding:index")).content.decode()
    assert f'id="id_otp_code_{d.pk}"' in html
    assert "data-passkey-stepup" in html and "twofactor/passkey.js" in html
    key = re.search(rf'name="idempotency_key" value="([0-9a-f]+)"[^>]*id="id_idempotency_key_{d.pk}"', html)[1]
    data = {"password": PASSWORD, "payment_reference": "VIR-1", "idempotency_key": key, "confirm": "on"}

    missing = client.post(reverse("funding:release", args=[d.pk]), data)
    assert missing.status_code == 200
    form = missing.context["to_release"][0].release_form
    assert form.errors["otp_code"] == ["Give the code of your authenticator app, or use your passkey."]
    assert state_of(d) == "authorized"

    done = client.post(reverse("funding:release", args=[d.pk]), dict(data, otp_code=code_of(device)))
    assert done.status_code == 302
    assert state_of(d) == "released"


def test_a_member_with_an_app_confirms_the_minutes_with_its_code(cast, program, make_user, make_beneficiary,
                                                                 make_project, with_app, client):
    board, session, _item = decided_session(cast, program, make_user, make_beneficiary, make_project)
    committee.session_close(session_id=session.pk, actor=board.chair)
    member = board.members[0]
    device, _codes = with_app(member)
    refused(lambda: committee.minutes_confirm(session_id=session.pk, actor=member, password=PASSWORD),
            "reauthentication_failed")

    client.force_login(member)
    page = reverse("committees:confirm_minutes", args=[session.pk])
    assert 'name="otp_code"' in client.get(page).content.decode()
    wrong = client.post(page, {"password": PASSWORD, "otp_code": "000000"})
    assert "This code or passkey is not correct." in wrong.content.decode()
    assert client.post(page, {"password": PASSWORD, "otp_code": code_of(device)}).status_code == 302
    assert MinutesConfirmation.objects.filter(session=session, user=member).exists()
