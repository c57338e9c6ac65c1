"""A release replayed: only the very same request (same treasurer, payment reference and
idempotency key) gets the idempotent success, and the page then says it was already
released; any other is refused, naming who released it, when and with which reference,
and changes nothing."""

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from core.exceptions import TamkeenError
from core.roles import Role
from disbursements import services as funding
from disbursements.models import Disbursement, EnvelopeEvent
from ledger.models import AuditEntry

PASSWORD = "pass-Tamkeen-2025"


@pytest.fixture
def people(people, make_user):
    treasurer = people["treasurer"]
    treasurer.first_name, treasurer.last_name = "Amina", "Berrada"
    treasurer.save(update_fields=["first_name", "last_name"])
    return {**people, "other_treasurer": make_user(Role.TREASURER, username="comptable-2")}


@pytest.fixture
def released(make_project, people):
    project = make_project("funding", amount="60000.00")
    d = funding.disbursement_request(project_id=project.pk, actor=people["finance"], amount="15000.00")
    funding.disbursement_authorize(disbursement_id=d.pk, actor=people["authorizer"])
    return release(d, people["treasurer"], "idem-1", "VIR-77")


def release(d, treasurer, key, reference):
    return funding.disbursement_release(disbursement_id=d.pk, actor=treasurer, password=PASSWORD,
                                        payment_reference=reference, idempotency_key=key)


def snapshot(d):
    row = Disbursement.objects.filter(pk=d.pk).values(
        "state", "released_by_id", "released_at", "payment_reference", "release_key").get()
    return row, AuditEntry.objects.count(), EnvelopeEvent.objects.count()


def refusal(call):
    with pytest.raises(TamkeenError) as caught:
        call()
    return caught.value


def expected_message(d):
    day = date_format(timezone.localdate(d.released_at), "SHORT_DATE_FORMAT")
    return f"This disbursement was already released by Amina Berrada on {day} with reference VIR-77."


@pytest.mark.parametrize("who, key, reference", [
    ("other_treasurer", "idem-1", "VIR-77"),  # another treasurer replaying the very request
    ("other_treasurer", "idem-9", "VIR-99"),  # another treasurer, another request
    ("treasurer", "idem-1", "VIR-78"),  # the same treasurer and key, another reference
    ("treasurer", "idem-2", "VIR-77"),  # the same treasurer and reference, another key
])
def test_another_release_of_a_released_disbursement_is_refused_and_says_which(people, released, who, key,
                                                                               reference):
    before = snapshot(released)
    error = refusal(lambda: release(released, people[who], key, reference))
    assert error.code == "transition_not_allowed"
    assert str(error.message) == expected_message(released)
    assert error.params["payment_reference"] == "VIR-77"
    assert snapshot(released) == before
    assert Disbursement.objects.get(pk=released.pk).payment_reference == "VIR-77"


def test_the_same_request_replayed_is_the_release_already_made(people, released):
    before = snapshot(released)
    assert not getattr(released, "replayed", False)
    again = release(released, people["treasurer"], "idem-1", "VIR-77")
    assert again.replayed is True
    assert (again.pk, again.state, again.released_at, again.payment_reference) == (
        released.pk, "released", released.released_at, "VIR-77")
    assert snapshot(released) == before
    assert AuditEntry.objects.for_entity(released).filter(transition="release").count() == 1


def _post(client, d, user, key, reference):
    client.force_login(user)
    return client.post(reverse("funding:release", args=[d.pk]), {
        "password": PASSWORD, "payment_reference": reference, "idempotency_key": key, "confirm": "on"},
        follow=True)


def test_the_page_says_already_released_for_the_same_request(client, people, released):
    before = snapshot(released)
    response = _post(client, released, people["treasurer"], "idem-1", "VIR-77")
    html = response.content.decode()
    assert response.redirect_chain and response.status_code == 200
    assert f"{released.reference} already released" in html
    assert "released: the payment is recorded" not in html
    assert snapshot(released) == before


def test_the_page_names_the_first_release_to_another_treasurer(client, people, released):
    before = snapshot(released)
    response = _post(client, released, people["other_treasurer"], "idem-5", "VIR-99")
    html = response.content.decode()
    assert response.status_code == 200 and not response.redirect_chain
    assert "already released by Amina Berrada" in html and "with reference VIR-77" in html
    assert "released: the payment is recorded" not in html
    assert snapshot(released) == before
