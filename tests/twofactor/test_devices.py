"""Each change to a person's second factor is signed on their chain; an administrator who
is not the person resets it when they lost their devices."""

import pytest
from django.urls import reverse
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from core.exceptions import TamkeenError
from core.roles import Role
from ledger.evidence import verify_entity
from ledger.models import AuditEntry
from tests._second_factor import code_of, sign_in
from twofactor import services
from twofactor.models import SecondFactor

pytestmark = pytest.mark.django_db


def refused(call, code):
    with pytest.raises(TamkeenError) as caught:
        call()
    assert caught.value.code == code, caught.value.as_dict()
    return caught.value


def chain_of(user):
    chain = SecondFactor.objects.get(user=user)
    return chain, list(AuditEntry.objects.for_entity(chain).order_by("seq"))


def test_the_first_app_opens_the_chain_and_the_next_ones_are_added(make_user, with_app):
    treasurer = make_user(Role.TREASURER)
    device, codes = with_app(treasurer)
    key = TOTPDevice().key
    second, more_codes = services.totp_enrol(actor=treasurer, key=key, code=code_of(key), name="Tablet",
                                             session_verified=True)
    assert (len(codes), more_codes) == (10, [])
    chain, entries = chain_of(treasurer)
    assert [(e.seq, e.transition, e.from_state, e.to_state, e.actor_id, e.actor_role) for e in entries] == [
        (1, "create", "", "enrolled", treasurer.pk, "none"),
        (2, "add_device", "enrolled", "enrolled", treasurer.pk, "none"),
    ]
    assert entries[0].payload == {"user": treasurer.pk, "device": "totp", "name": "Phone"}
    assert entries[1].payload == {"device": "totp", "name": "Tablet"}
    assert verify_entity(chain).problems == []


def test_adding_a_device_needs_a_verified_session_once_there_is_one(make_user, with_app):
    treasurer = make_user(Role.TREASURER)
    with_app(treasurer)
    key = TOTPDevice().key
    refused(lambda: services.totp_enrol(actor=treasurer, key=key, code=code_of(key), session_verified=False),
            "second_factor_not_verified")
    assert TOTPDevice.objects.filter(user=treasurer).count() == 1


def test_the_last_device_of_a_required_role_stays(make_user, with_app):
    auditor = make_user(Role.AUDITOR)
    device, _codes = with_app(auditor)
    refused(lambda: services.device_remove(actor=auditor, kind="totp", device_id=device.pk, session_verified=True),
            "second_factor_required")
    assert TOTPDevice.objects.filter(pk=device.pk).exists()


def test_an_agent_may_withdraw_their_second_factor(make_user, with_app):
    agent = make_user(Role.ASSOCIATION_AGENT)
    device, _codes = with_app(agent)
    services.device_remove(actor=agent, kind="totp", device_id=device.pk, session_verified=True)
    chain, entries = chain_of(agent)
    assert chain.state == "not_enrolled"
    assert [e.transition for e in entries] == ["create", "withdraw"]
    assert not StaticToken.objects.filter(device__user=agent).exists()  # the codes went with it
    assert verify_entity(chain).problems == []


def test_renewing_recovery_codes_retires_the_old_ones(make_user, with_app):
    member = make_user(Role.COMMITTEE_MEMBER)
    _device, old = with_app(member)
    new = services.recovery_codes_renew(actor=member, session_verified=True)
    assert set(StaticToken.objects.filter(device__user=member).values_list("token", flat=True)) == set(new)
    assert not set(old) & set(new)
    assert chain_of(member)[1][-1].transition == "renew_codes"


# --- Reset by another administrator ----------------------------------------------------------


def test_another_administrator_resets_a_lost_second_factor(make_user, with_app):
    treasurer = make_user(Role.TREASURER)
    admin = make_user(Role.ADMIN, username="admin-b")
    with_app(treasurer)
    removed = services.second_factor_reset(actor=admin, user_id=treasurer.pk, reason="Téléphone perdu, vue en personne.")

    assert removed == {"totp": 1, "passkey": 0, "recovery_codes": 10}
    assert not TOTPDevice.objects.filter(user=treasurer).exists()
    assert not StaticToken.objects.filter(device__user=treasurer).exists()
    chain, entries = chain_of(treasurer)
    reset = entries[-1]
    assert (reset.transition, reset.from_state, reset.to_state, reset.actor_id, reset.actor_role) == (
        "reset", "enrolled", "not_enrolled", admin.pk, "admin")
    assert reset.payload == {"user": treasurer.pk, "reason": "Téléphone perdu, vue en personne.",
                             "removed": {"totp": 1, "passkey": 0, "recovery_codes": 10}}
    assert reset.created_at is not None
    assert verify_entity(chain).problems == []

    # Enrolling again brings the chain back, with new recovery codes.
    key = TOTPDevice().key
    _device, codes = services.totp_enrol(actor=treasurer, key=key, code=code_of(key), session_verified=False)
    assert len(codes) == 10
    assert [e.transition for e in chain_of(treasurer)[1]] == ["create", "reset", "enrol"]


def test_nobody_resets_their_own_second_factor(make_user, with_app):
    admin = make_user(Role.ADMIN)
    with_app(admin)
    count = AuditEntry.objects.count()
    refused(lambda: services.second_factor_reset(actor=admin, user_id=admin.pk, reason="Perdu."),
            "separation_of_duties")
    assert TOTPDevice.objects.filter(user=admin).exists()
    assert AuditEntry.objects.count() == count


def test_only_administrators_reset_and_they_say_why(make_user, with_app):
    treasurer = make_user(Role.TREASURER)
    with_app(treasurer)
    refused(lambda: services.second_factor_reset(actor=make_user(Role.AUDITOR), user_id=treasurer.pk,
                                                 reason="Perdu."), "permission_denied")
    refused(lambda: services.second_factor_reset(actor=make_user(Role.ADMIN), user_id=treasurer.pk, reason="  "),
            "invalid_input")
    assert TOTPDevice.objects.filter(user=treasurer).exists()


def test_nothing_to_reset(make_user):
    refused(lambda: services.second_factor_reset(actor=make_user(Role.ADMIN), user_id=make_user(Role.TREASURER).pk,
                                                 reason="Perdu."), "transition_not_allowed")


def test_the_reset_page_and_the_next_sign_in(client, gate, make_user, with_app):
    treasurer = make_user(Role.TREASURER)
    admin = make_user(Role.ADMIN)
    device, _codes = with_app(treasurer)
    admin_app, _codes = with_app(admin)
    # The treasurer's own session, verified.
    own = client.__class__(HTTP_ACCEPT_LANGUAGE="en")
    sign_in(own, treasurer)
    own.post(reverse("security:verify"), {"code": code_of(device)})
    assert own.get("/funding/").status_code == 200

    # The administrator, signed in with their own second factor.
    sign_in(client, admin)
    client.post(reverse("security:verify"), {"code": code_of(admin_app)})
    assert treasurer.username in client.get(reverse("security:people")).content.decode()
    page = reverse("security:reset", args=[treasurer.pk])
    assert client.post(page, {"reason": ""}).status_code == 200
    done = client.post(page, {"reason": "Téléphone volé.", "confirm": "on"})
    assert done["Location"] == reverse("security:people")
    mine = client.get(reverse("security:reset", args=[admin.pk])).content.decode()
    assert "Nobody resets their own second factor" in mine

    assert SecondFactor.objects.get(user=treasurer).state == "not_enrolled"
    assert AuditEntry.objects.for_entity(SecondFactor.objects.get(user=treasurer)).last().actor_id == admin.pk
    # The treasurer's session is no longer verified: their next page is the enrolment.
    assert own.get("/funding/")["Location"].startswith(reverse("security:enrol"))
