"""Sixteen wrong passwords at once against a release (real PostgreSQL connections): each
attempt takes its slot in the step-up count before the password hash is checked, so at
most ``TAMKEEN_STEPUP_MAX_FAILURES`` of them are checked; the others are refused as
locked. Marked ``postgres``: skipped on SQLite."""

import threading
import time

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model

from core.roles import Role
from disbursements import services as funding
from disbursements.models import Disbursement
from ledger.models import AuditEntry
from tests._concurrency import race

PASSWORD = "pass-Tamkeen-2025"
RACERS = 16

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("reference_data"),
]


@pytest.fixture
def checked_passwords(monkeypatch):
    """Count the password checks, each slowed down so that the racers overlap."""
    user_model = get_user_model()
    original = user_model.check_password
    lock, calls = threading.Lock(), []

    def counting(user, raw_password):
        with lock:
            calls.append(user.pk)
        time.sleep(0.2)
        return original(user, raw_password)

    monkeypatch.setattr(user_model, "check_password", counting)
    return calls


def test_sixteen_simultaneous_wrong_passwords_check_at_most_the_limit(make_project, make_user, cast,
                                                                       checked_passwords):
    authorizer = make_user(Role.AUTHORIZING_OFFICER, username="ordonnateur")
    treasurer = make_user(Role.TREASURER, username="comptable")
    project = make_project("funding", amount="60000.00")
    d = funding.disbursement_request(project_id=project.pk, actor=cast.finance, amount="1000.00")
    d = funding.disbursement_authorize(disbursement_id=d.pk, actor=authorizer)
    entries = AuditEntry.objects.count()
    limit = settings.TAMKEEN_STEPUP_MAX_FAILURES
    assert limit < RACERS

    outcomes = race(*[lambda n=n: funding.disbursement_release(
        disbursement_id=d.pk, actor=treasurer, password="wrong-guess", payment_reference=f"VIR-{n}",
        idempotency_key=f"key-{n}") for n in range(RACERS)])

    assert len(checked_passwords) <= limit, checked_passwords
    assert outcomes.count("reauthentication_failed") == len(checked_passwords) == limit, outcomes
    assert outcomes.count("too_many_attempts") == RACERS - limit, outcomes
    # Locked now, even with the right password; nothing was released.
    assert race(lambda: funding.disbursement_release(
        disbursement_id=d.pk, actor=treasurer, password=PASSWORD, payment_reference="VIR-ok",
        idempotency_key="key-ok")) == ["too_many_attempts"]
    assert len(checked_passwords) == limit
    assert Disbursement.objects.get(pk=d.pk).state == "authorized"
    assert AuditEntry.objects.count() == entries
