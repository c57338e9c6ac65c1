"""The envelope lowered while a committee session closes (the access review's second
finding): both took the program's lock in turn, and on two real PostgreSQL connections
what is committed never ends above the envelope, whichever comes first."""

import dataclasses
from decimal import Decimal

import pytest

from approvals import services as committee
from core.roles import Role
from demo.scenarios import decide_in_session, plan_session
from disbursements.selectors import committed_amount
from ledger.evidence import verify_database
from tests._concurrency import race
from workflow import services
from workflow.models import Program

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("reference_data")]


@pytest.mark.parametrize("round_", range(3))
def test_lowering_the_envelope_while_a_session_closes_never_overdraws_it(
        make_project, make_user, cast, slow_audit, round_):
    program = services.program_create(actor=cast.officer, code=f"race-{round_}", name="Appel", year=2026,
                                      envelope="100000", project_ceiling="30000")
    already = make_project("eligible", program=program, requested_amount="30000.00", own_contribution="15000.00")
    plan_session(program, cast, [already.pk])
    decide_in_session(already.pk, cast, "approve", "30000.00")  # 30,000 committed
    waiting = make_project("eligible", program=program, requested_amount="30000.00", own_contribution="15000.00")
    chair = make_user(Role.COMMITTEE_CHAIR, Role.COMMITTEE_MEMBER, username="chair-2")
    second = dataclasses.replace(cast, chair=chair)
    plan_session(program, second, [waiting.pk])
    session = decide_in_session(waiting.pk, second, "approve", "30000.00", close=False)

    calls = [
        lambda: committee.session_close(session_id=session.pk, actor=chair),
        lambda: services.program_update(program_id=program.pk, actor=cast.officer, envelope="45000"),
    ]
    outcomes = race(*(calls if round_ % 2 == 0 else calls[::-1]))
    if round_ % 2:
        outcomes = outcomes[::-1]

    program = Program.objects.get(pk=program.pk)
    # One of the two gives way, with its own code; never both succeed.
    assert outcomes in (["ok", "envelope_below_committed"], ["budget_exceeded", "ok"]), outcomes
    assert committed_amount(program) <= program.envelope
    if outcomes[0] == "ok":
        assert (committed_amount(program), program.envelope) == (Decimal("60000.00"), Decimal("100000.00"))
    else:
        assert (committed_amount(program), program.envelope) == (Decimal("30000.00"), Decimal("45000.00"))
    assert verify_database().ok
