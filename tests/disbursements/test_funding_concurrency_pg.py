"""Real PostgreSQL connections racing to release money (DESIGN.md §7).

Eight threads, each with its own connection, lined up on a barrier, call the release
service at once. Writing the audit entry is slowed down in the racing threads, so the
winner still holds the program → project → disbursement locks when the others arrive:
they must wait, then see the committed release and refuse cleanly (or, retrying with the
same idempotency key, get the same result). Marked ``postgres``: skipped on SQLite.

The data is committed (transactional database), so the reference data that the flush
ending every transactional test removes is put back first (``serialized_rollback``
cannot: the ledger's append-only triggers refuse its UPDATEs).
"""

from decimal import Decimal

import pytest

from core.roles import Role
from disbursements import selectors
from disbursements import services as funding
from disbursements.models import Disbursement, EnvelopeEvent
from ledger.models import AuditEntry
from tests._concurrency import race  # noqa: F401 (fixture)

PASSWORD = "pass-Tamkeen-2025"
RACERS = 8

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("reference_data"),
]


@pytest.fixture
def people(make_user, cast):
    return {
        "finance": cast.finance,
        "authorizer": make_user(Role.AUTHORIZING_OFFICER, username="ordonnateur"),
        "treasurers": [make_user(Role.TREASURER, username=f"comptable-{n}") for n in range(RACERS)],
    }


def authorized(project, people, amount):
    d = funding.disbursement_request(project_id=project.pk, actor=people["finance"], amount=amount)
    return funding.disbursement_authorize(disbursement_id=d.pk, actor=people["authorizer"])


def release_call(d, treasurer, key):
    return lambda: funding.disbursement_release(
        disbursement_id=d.pk, actor=treasurer, password=PASSWORD, payment_reference=f"VIR-{key}",
        idempotency_key=key,
    )


def _release_entries(d):
    return list(AuditEntry.objects.for_entity(d).filter(transition="release").values_list("actor_id", flat=True))


def test_eight_treasurers_release_one_disbursement_once(make_project, people, slow_audit):
    project = make_project("funding", amount="60000.00")
    d = authorized(project, people, "20000.00")
    outcomes = race(*[release_call(d, t, f"key-{n}") for n, t in enumerate(people["treasurers"])])

    assert outcomes.count("ok") == 1, outcomes
    assert set(outcomes) - {"ok"} <= {"transition_not_allowed", "concurrent_update"}, outcomes
    winner = people["treasurers"][outcomes.index("ok")]
    released = Disbursement.objects.get(pk=d.pk)
    assert (released.state, released.released_by_id, released.release_key) == (
        "released", winner.pk, f"key-{outcomes.index('ok')}")
    assert _release_entries(d) == [winner.pk]
    assert list(EnvelopeEvent.objects.filter(kind="release").values_list("disbursement_id", "amount")) == [
        (d.pk, Decimal("20000.00"))]
    assert [e.transition for e in AuditEntry.objects.for_entity(d).order_by("seq")] == [
        "create", "authorize", "release"]


def test_eight_retries_with_one_key_release_once_and_all_see_it(make_project, people, slow_audit):
    project = make_project("funding", amount="60000.00")
    d = authorized(project, people, "20000.00")
    treasurer = people["treasurers"][0]
    outcomes = race(*[release_call(d, treasurer, "same-key") for _ in range(RACERS)])

    assert outcomes == ["ok"] * RACERS, outcomes
    assert _release_entries(d) == [treasurer.pk]
    assert EnvelopeEvent.objects.filter(kind="release").count() == 1


def test_concurrent_releases_never_exceed_the_approved_amount(make_project, people, slow_audit):
    make_project("approved", amount="50000.00")  # room in the program: the project's cap decides
    project = make_project("funding", amount="10000.00")
    tranches = [authorized(project, people, "3000.00") for _ in range(RACERS)]
    outcomes = race(*[release_call(d, people["treasurers"][n], f"t-{n}") for n, d in enumerate(tranches)])

    assert outcomes.count("ok") == 3, outcomes  # 3 × 3,000 ≤ 10,000 < 4 × 3,000
    assert set(outcomes) - {"ok"} == {"budget_exceeded"}, outcomes
    totals = selectors.project_envelope_totals(project)
    assert totals.released == Decimal("9000.00") <= project.approved_amount
    for n, d in enumerate(tranches):
        state = Disbursement.objects.get(pk=d.pk).state
        assert state == ("released" if outcomes[n] == "ok" else "authorized")
        assert len(_release_entries(d)) == (1 if outcomes[n] == "ok" else 0)
    program_totals = selectors.program_envelope_totals(project.program)
    assert program_totals.released <= program_totals.committed
    # The racing releases each added to the program's running totals, none lost.
    assert all(check.matches for check in selectors.envelope_balance_checks())


def test_concurrent_releases_across_projects_never_exceed_the_programs_commitments(
        make_project, people, program, slow_audit):
    projects = [make_project("funding", amount="10000.00") for _ in range(2)]
    tranches = [authorized(p, people, "4000.00") for p in projects for _ in range(RACERS // 2)]
    # Some of the program's commitment is given back (as for a withdrawn file): the
    # program, not each project, is now the binding ceiling.
    EnvelopeEvent(program=program, project=projects[0], kind="decommit", amount=Decimal("6000.00"),
                  idempotency_key="decommit-race", actor=people["finance"]).save()
    outcomes = race(*[release_call(d, people["treasurers"][n], f"x-{n}") for n, d in enumerate(tranches)])

    totals = selectors.program_envelope_totals(program)
    assert totals.committed == Decimal("14000.00")
    assert totals.released == Decimal("4000.00") * outcomes.count("ok") <= totals.committed
    assert outcomes.count("ok") == 3, outcomes
    assert all(check.matches for check in selectors.envelope_balance_checks())
    assert set(outcomes) - {"ok"} == {"budget_exceeded"}, outcomes
    for project in projects:
        assert selectors.project_envelope_totals(project).released <= project.approved_amount
