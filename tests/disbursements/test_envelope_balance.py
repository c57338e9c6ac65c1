"""A program's running envelope totals (``EnvelopeBalance``): kept by every event as it is
written, in its transaction, equal to the sums of the events, read as one row, refused by
the database when they break the money invariants, and checked by ``check_envelopes``."""

from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, transaction

from core.exceptions import TamkeenError
from disbursements import selectors
from disbursements import services as funding
from disbursements.models import EnvelopeBalance, EnvelopeEvent
from disbursements.selectors import ZERO
from workflow import services
from workflow.models import Program

PASSWORD = "pass-Tamkeen-2025"


@pytest.fixture
def other_program(db):
    return Program.objects.create(code="nador-other", name="AGR Nador bis", year=2025,
                                  envelope=Decimal("500000.00"), project_ceiling=Decimal("100000.00"))


def summed(program):
    committed, released = EnvelopeEvent.objects.filter(program_id=program.pk).sums()
    return committed, released


def kept(program):
    row = EnvelopeBalance.objects.get(program_id=program.pk)
    return row.committed, row.released, row.events


def released(project, people, amount, key):
    d = funding.disbursement_request(project_id=project.pk, actor=people["finance"], amount=amount)
    funding.disbursement_authorize(disbursement_id=d.pk, actor=people["authorizer"])
    return funding.disbursement_release(disbursement_id=d.pk, actor=people["treasurer"], password=PASSWORD,
                                        payment_reference="VIR-1", idempotency_key=key)


def test_every_service_that_moves_money_keeps_the_totals(make_project, people, cast, program):
    assert not EnvelopeBalance.objects.filter(program_id=program.pk).exists()
    assert (selectors.program_envelope_totals(program).committed,
            selectors.program_envelope_totals(program).released) == (Decimal("0.00"), Decimal("0.00"))
    kept_project = make_project("funding", amount="30000.00")
    leaving = make_project("funding", amount="20000.00")
    assert kept(program) == (Decimal("50000.00"), Decimal("0.00"), 2)  # two commitments
    released(kept_project, people, "12000.00", "a")
    released(leaving, people, "5000.00", "b")
    assert kept(program) == (Decimal("50000.00"), Decimal("17000.00"), 4)
    services.project_withdraw(project_id=leaving.pk, actor=cast.agent, reason="Départ.")
    funding.envelope_decommit(project_id=leaving.pk, actor=people["finance"], reason="Projet retiré.")
    assert kept(program) == (Decimal("35000.00"), Decimal("17000.00"), 5)
    assert kept(program)[:2] == summed(program)
    totals = selectors.program_envelope_totals(program)
    assert (totals.committed, totals.released, totals.free) == (
        Decimal("35000.00"), Decimal("17000.00"), program.envelope - Decimal("35000.00"))
    assert all(check.matches for check in selectors.envelope_balance_checks())


def test_a_refused_release_changes_no_total(make_project, people, program):
    project = make_project("funding", amount="10000.00")
    first, second = (funding.disbursement_request(project_id=project.pk, actor=people["finance"], amount=amount)
                     for amount in ("6000.00", "5000.00"))
    for d in (first, second):
        funding.disbursement_authorize(disbursement_id=d.pk, actor=people["authorizer"])
    funding.disbursement_release(disbursement_id=first.pk, actor=people["treasurer"], password=PASSWORD,
                                 payment_reference="VIR-1", idempotency_key="first")
    before = kept(program)
    assert before == (Decimal("10000.00"), Decimal("6000.00"), 2)
    with pytest.raises(TamkeenError) as caught:
        funding.disbursement_release(disbursement_id=second.pk, actor=people["treasurer"], password=PASSWORD,
                                     payment_reference="VIR-2", idempotency_key="second")
    assert caught.value.code == "budget_exceeded"
    assert kept(program) == before


def test_an_event_rolled_back_takes_its_totals_with_it(make_project, people, program):
    project = make_project("approved", amount="40000.00")
    before = kept(program)
    with pytest.raises(RuntimeError), transaction.atomic():
        EnvelopeEvent(program=program, project=project, kind="decommit", amount=Decimal("1000.00"),
                      idempotency_key="rolled-back", actor=people["finance"]).save()
        assert kept(program)[0] == before[0] - Decimal("1000.00")  # seen inside the transaction
        raise RuntimeError("the service failed after the event")
    assert kept(program) == before
    assert not EnvelopeEvent.objects.filter(idempotency_key="rolled-back").exists()


def test_an_event_the_database_refuses_changes_no_total(make_project, people, program):
    project = make_project("approved", amount="40000.00")
    before = kept(program)
    with pytest.raises(IntegrityError), transaction.atomic():
        EnvelopeEvent(program=program, project=project, kind="commit", amount=Decimal("1.00"),
                      idempotency_key=f"commit:project:{project.pk}", actor=people["finance"]).save()
    assert kept(program) == before


def test_the_database_refuses_released_beyond_committed(make_project, people, program):
    project = make_project("funding", amount="10000.00")
    d = funding.disbursement_request(project_id=project.pk, actor=people["finance"], amount="100.00")
    # Past the services' guards (which refuse first), the totals' own constraint holds.
    with pytest.raises(IntegrityError), transaction.atomic():
        EnvelopeEvent(program=program, project=project, disbursement=d, kind="release",
                      amount=Decimal("10000.01"), idempotency_key="too-much", actor=people["finance"]).save()
    assert kept(program) == (Decimal("10000.00"), Decimal("0.00"), 1)
    assert not EnvelopeEvent.objects.filter(idempotency_key="too-much").exists()


def test_bulk_created_events_are_added_per_program(make_project, people, program, other_program):
    a = make_project("approved", amount="10000.00")
    b = make_project("approved", amount="20000.00", program=other_program)
    EnvelopeEvent.objects.bulk_create([
        EnvelopeEvent(program=program, project=a, kind="decommit", amount=Decimal("2500.00"),
                      idempotency_key="bulk-1", actor=people["finance"]),
        EnvelopeEvent(program=other_program, project=b, kind="decommit", amount=Decimal("4000.00"),
                      idempotency_key="bulk-2", actor=people["finance"]),
    ])
    assert kept(program) == (Decimal("7500.00"), Decimal("0.00"), 2)
    assert kept(other_program) == (Decimal("16000.00"), Decimal("0.00"), 2)
    assert all(check.matches for check in selectors.envelope_balance_checks())


def test_program_totals_are_one_query_whatever_the_events(make_project, program, django_assert_num_queries):
    make_project("approved", amount="10000.00")
    with django_assert_num_queries(1):
        selectors.program_envelope_totals(program)
    for _ in range(5):
        make_project("approved", amount="10000.00")
    with django_assert_num_queries(1):
        assert selectors.program_envelope_totals(program).committed == Decimal("60000.00")


def test_check_envelopes_says_when_kept_totals_match(make_project, program, capsys):
    make_project("approved", amount="10000.00")
    call_command("check_envelopes")
    out = capsys.readouterr().out
    assert f"{program.code}: committed 10,000.00 MAD, released 0.00 MAD, 1 event(s): kept totals match" in out
    assert "every kept envelope total matches its events" in out


def test_check_envelopes_names_a_program_whose_totals_drifted(make_project, program, capsys):
    make_project("approved", amount="10000.00")
    row = EnvelopeBalance.objects.get(program_id=program.pk)
    row.committed = Decimal("9000.00")  # written behind the events' back
    row.save()
    with pytest.raises(CommandError, match=rf"1 of \d+ program\(s\) .* {program.code}"):
        call_command("check_envelopes", "--quiet")
    out = capsys.readouterr().out
    assert f"{program.code}: kept committed 9,000.00 / released 0.00 / 1 event(s), but its events sum to " \
           "committed 10,000.00 / released 0.00 / 1 event(s)" in out
    assert "kept totals match" not in out


def test_check_envelopes_names_a_program_committed_beyond_its_envelope(make_project, program, capsys):
    make_project("approved", amount="40000.00")
    # The envelope lowered behind the services' back (they refuse it: program_checks).
    Program.objects.filter(pk=program.pk).update(envelope=Decimal("30000.00"), project_ceiling=Decimal("30000.00"))
    with pytest.raises(CommandError, match=rf"1 of \d+ program\(s\) commit more than their envelope: {program.code}"):
        call_command("check_envelopes")
    out = capsys.readouterr().out
    assert f"{program.code}: its events commit 40,000.00 MAD, more than its envelope of 30,000.00 MAD" in out


def test_a_float_amount_is_refused_and_nothing_is_written(make_project, people, program):
    project = make_project("approved", amount="10000.00")
    before = kept(program)
    with pytest.raises(TypeError, match="never float"):
        EnvelopeEvent(program=program, project=project, kind="decommit", amount=10.5,
                      idempotency_key="float", actor=people["finance"]).save()
    with pytest.raises(TypeError, match="never float"):
        EnvelopeEvent.objects.bulk_create([EnvelopeEvent(program=program, project=project, kind="decommit",
                                                         amount=10.5, idempotency_key="float",
                                                         actor=people["finance"])])
    assert kept(program) == before
    assert not EnvelopeEvent.objects.filter(idempotency_key="float").exists()


def test_the_migration_starts_the_totals_from_the_events_already_recorded(make_project, people, cast, program,
                                                                           other_program):
    import importlib

    from django.apps import apps

    backfill = importlib.import_module("disbursements.migrations.0004_envelope_balance").backfill
    make_project("funding", amount="30000.00")
    leaving = make_project("funding", amount="20000.00")
    released(leaving, people, "5000.00", "b")
    services.project_withdraw(project_id=leaving.pk, actor=cast.agent, reason="Départ.")
    funding.envelope_decommit(project_id=leaving.pk, actor=people["finance"], reason="Projet retiré.")
    make_project("approved", amount="7000.00", program=other_program)
    expected = {row.program_id: (row.committed, row.released, row.events) for row in EnvelopeBalance.objects.all()}
    EnvelopeBalance.objects.all().delete()  # the database before the migration

    backfill(apps, None)

    assert {row.program_id: (row.committed, row.released, row.events)
            for row in EnvelopeBalance.objects.all()} == expected == {
        program.pk: (Decimal("35000.00"), Decimal("5000.00"), 4), other_program.pk: (Decimal("7000.00"), ZERO, 1)}
    assert all(check.matches for check in selectors.envelope_balance_checks())
