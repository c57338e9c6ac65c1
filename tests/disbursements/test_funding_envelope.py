"""The envelope ledger (append-only events, derived totals), release idempotency, the
payments export, and the audit ledger's view of the funding machines."""

import csv
import io
from decimal import Decimal

import pytest
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from core.exceptions import TamkeenError
from disbursements import selectors
from disbursements import services as funding
from disbursements.models import Disbursement, EnvelopeEvent
from ledger.models import AppendOnlyError, AuditEntry
from tests._audit_support import run_audit_verify
from workflow import program_checks, services
from workflow.models import Program

PASSWORD = "pass-Tamkeen-2025"


@pytest.fixture
def authorized(people):
    def make(project, amount="1000.00"):
        d = funding.disbursement_request(project_id=project.pk, actor=people["finance"], amount=amount)
        return funding.disbursement_authorize(disbursement_id=d.pk, actor=people["authorizer"])

    return make


def release(d, treasurer, key, reference="VIR-1"):
    return funding.disbursement_release(disbursement_id=d.pk, actor=treasurer, password=PASSWORD,
                                        payment_reference=reference, idempotency_key=key)


def code_of(call):
    with pytest.raises(TamkeenError) as caught:
        call()
    return caught.value


def test_approval_commits_and_both_counts_agree(make_project, program, cast):
    make_project("approved", amount="40000.00")
    make_project("funding", amount="55000.00")
    make_project("in_committee")
    make_project("rejected")
    totals = selectors.program_envelope_totals(program)
    assert totals.committed == selectors.committed_amount(program) == Decimal("95000.00")
    assert totals.free == selectors.free_balance(program) == Decimal("905000.00")
    assert totals.released == Decimal("0.00")
    assert sorted(EnvelopeEvent.objects.values_list("kind", "amount")) == [
        ("commit", Decimal("40000.00")), ("commit", Decimal("55000.00")),
    ]


def test_a_committee_session_commits_through_the_same_hook(make_project, program):
    # project_decide is the only approval path: sessions call it inside their close.
    project = make_project("approved", amount="30000.00")
    event = EnvelopeEvent.objects.get(project=project)
    assert event.idempotency_key == f"commit:project:{project.pk}"


def test_envelope_events_are_append_only(make_project):
    make_project("approved")
    event = EnvelopeEvent.objects.get()
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()
    with pytest.raises(AppendOnlyError):
        EnvelopeEvent.objects.update(amount=Decimal("1.00"))
    with pytest.raises(AppendOnlyError):
        EnvelopeEvent.objects.all().delete()


@pytest.mark.parametrize("amount", [Decimal("0.00"), Decimal("-1.00")])
def test_the_database_refuses_a_non_positive_event(make_project, amount):
    project = make_project("approved")
    with pytest.raises(IntegrityError), transaction.atomic():
        EnvelopeEvent(program=project.program, project=project, kind="commit", amount=amount,
                      idempotency_key="manual", actor=project.created_by).save()


def test_a_replayed_release_changes_nothing(make_project, people, authorized):
    project = make_project("funding", amount="60000.00")
    d = authorized(project, "15000.00")
    first = release(d, people["treasurer"], "idem-1", "VIR-77")
    entries, events = AuditEntry.objects.count(), EnvelopeEvent.objects.count()
    again = release(d, people["treasurer"], "idem-1", "VIR-77")
    assert (again.pk, again.state, again.released_at, again.payment_reference) == (
        first.pk, "released", first.released_at, "VIR-77")
    assert (AuditEntry.objects.count(), EnvelopeEvent.objects.count()) == (entries, events)
    # Another key on a released disbursement is a second release: refused.
    assert code_of(lambda: release(d, people["treasurer"], "idem-2")).code == "transition_not_allowed"
    # A key is one release: using it for another disbursement is refused.
    other = authorized(project, "100.00")
    assert code_of(lambda: release(other, people["treasurer"], "idem-1")).code == "idempotency_key_reused"
    assert Disbursement.objects.get(pk=other.pk).state == "authorized"
    assert selectors.project_envelope_totals(project).released == Decimal("15000.00")


def test_a_double_submitted_request_is_one_request(make_project, people):
    project = make_project("funding")
    first = funding.disbursement_request(project_id=project.pk, actor=people["finance"], amount="500.00",
                                         idempotency_key="form-abc")
    again = funding.disbursement_request(project_id=project.pk, actor=people["finance"], amount="500.00",
                                         idempotency_key="form-abc")
    assert again.pk == first.pk and Disbursement.objects.count() == 1
    error = code_of(lambda: funding.disbursement_request(project_id=project.pk, actor=people["finance"],
                                                         amount="600.00", idempotency_key="form-abc"))
    assert error.code == "idempotency_key_reused"


def test_releases_stop_at_the_approved_amount(make_project, people, authorized):
    make_project("approved", amount="50000.00")  # the program's committed balance has room
    project = make_project("funding", amount="10000.00")
    a, b = authorized(project, "6000.00"), authorized(project, "5000.00")
    release(a, people["treasurer"], "a")
    error = code_of(lambda: release(b, people["treasurer"], "b"))
    assert (error.code, error.params["failures"]) == ("budget_exceeded", ["project_approved_exceeded"])
    assert Disbursement.objects.get(pk=b.pk).state == "authorized"


def test_releases_stop_at_the_programs_committed_balance(make_project, people, authorized, program):
    project = make_project("funding", amount="10000.00")
    d = authorized(project, "4000.00")
    # A decommitment recorded on the project (as if given back): the program's
    # committed balance no longer covers the tranche, whatever the project's figures.
    EnvelopeEvent(program=program, project=project, kind="decommit", amount=Decimal("7000.00"),
                  idempotency_key="decommit-test", actor=people["finance"]).save()
    error = code_of(lambda: release(d, people["treasurer"], "x"))
    assert (error.code, error.params["failures"]) == ("budget_exceeded", ["program_committed_exceeded"])


def test_no_release_while_the_project_is_suspended(make_project, people, authorized, cast):
    project = make_project("funding")
    d = authorized(project)
    services.project_suspend(project_id=project.pk, actor=cast.officer, reason="Vérification.")
    assert code_of(lambda: release(d, people["treasurer"], "s")).code == "transition_not_allowed"


def test_a_withdrawn_project_gives_back_what_it_did_not_receive(make_project, people, authorized, cast, program):
    project = make_project("funding", amount="20000.00")
    release(authorized(project, "5000.00"), people["treasurer"], "w")
    services.project_withdraw(project_id=project.pk, actor=cast.agent, reason="Départ.")
    assert code_of(lambda: funding.envelope_decommit(project_id=project.pk, actor=people["authorizer"],
                                                     reason="x")).code == "permission_denied"
    event = funding.envelope_decommit(project_id=project.pk, actor=people["finance"], reason="Projet retiré.")
    assert (event.kind, event.amount) == ("decommit", Decimal("15000.00"))
    totals = selectors.program_envelope_totals(program)
    assert (totals.committed, totals.released) == (Decimal("5000.00"), Decimal("5000.00"))
    assert code_of(lambda: funding.envelope_decommit(project_id=project.pk, actor=people["finance"],
                                                     reason="Encore.")).code == "invalid_input"


def test_money_released_to_a_withdrawn_project_stays_spent(make_project, people, authorized, cast, program):
    # Envelope 1,000,000: a project approved for 20,000 receives 5,000 and is withdrawn.
    # Only the 15,000 it did not receive comes back; the approvals' free balance (what a
    # committee can still commit) follows the ledger, not the project's state.
    project = make_project("funding", amount="20000.00")
    release(authorized(project, "5000.00"), people["treasurer"], "spent")
    free_before = selectors.free_balance(program)
    services.project_withdraw(project_id=project.pk, actor=cast.agent, reason="Départ.")
    assert selectors.free_balance(program) == free_before  # still committed until given back
    event = funding.envelope_decommit(project_id=project.pk, actor=people["finance"], reason="Projet retiré.")
    assert selectors.free_balance(program) == free_before + Decimal("15000.00")
    # The decommitment is also signed on the project's chain, keeping its state.
    entry = AuditEntry.objects.for_entity(project).order_by("seq").last()
    assert (entry.transition, entry.from_state, entry.to_state, entry.actor_id, entry.actor_role) == (
        "give_back", "withdrawn", "withdrawn", people["finance"].pk, "finance_officer")
    assert entry.payload == {"amount": "15000.00", "released": "5000.00", "reason": "Projet retiré.",
                             "event": event.pk}
    assert selectors.committed_amount(program) == selectors.program_envelope_totals(program).committed


def test_a_program_is_never_validated_with_an_envelope_below_what_is_committed(make_project, program, rf,
                                                                                 admin_user):
    # disbursements registers the check with workflow (workflow.program_checks), with its
    # code: Program.clean runs it, and program_update refuses with it (tests/workflow/
    # test_program_services.py). The admin no longer changes a program's settings.
    make_project("approved", amount="40000.00")
    program = Program.objects.get(pk=program.pk)
    program.envelope, program.project_ceiling = Decimal("39999.99"), Decimal("30000.00")
    with pytest.raises(ValidationError) as refused:
        program.full_clean()
    assert list(refused.value.message_dict) == ["envelope"]
    assert "40,000.00" in refused.value.message_dict["envelope"][0]
    assert [(f.code, f.field) for f in program_checks.failures(program)] == [("envelope_below_committed", "envelope")]
    program.envelope = Decimal("40000.00")  # exactly what is committed
    program.full_clean()

    request = rf.post("/admin/")
    request.user = admin_user
    form_class = admin.site._registry[Program].get_form(request, program, change=True)
    assert not form_class.base_fields


def test_payments_csv(make_project, people, authorized, program):
    first = make_project("funding", amount="20000.00")
    second = make_project("funding", amount="30000.00", beneficiary=None)
    release(authorized(first, "12000.50"), people["treasurer"], "p1", "VIR-001")
    release(authorized(second, "3000.00"), people["treasurer"], "p2", "=HYPERLINK(\"x\")")
    authorized(second, "10.00")  # not released: not exported
    rows = list(csv.reader(io.StringIO(selectors.payments_csv(program))))
    assert rows[0] == ["reference", "project", "beneficiary", "amount", "payment_reference", "released_at",
                       "released_by"]
    assert len(rows) == 3
    d1 = Disbursement.objects.get(release_key="p1")
    assert rows[1][:5] == [d1.reference, first.reference,
                           f"{first.beneficiary.first_name} {first.beneficiary.last_name}", "12000.50", "VIR-001"]
    assert rows[1][6] == "comptable"
    assert rows[2][3:5] == ["3000.00", "'=HYPERLINK(\"x\")"]  # no formula reaches a spreadsheet


def test_the_audit_ledger_verifies_with_the_funding_chains(make_project, people, authorized, cast):
    make_project("equipped")
    project = make_project("funding")
    release(authorized(project), people["treasurer"], "v")
    d = funding.disbursement_request(project_id=project.pk, actor=people["finance"], amount="10.00")
    funding.disbursement_reject(disbursement_id=d.pk, actor=people["authorizer"], reason="Non justifié.")
    ok, output = run_audit_verify()
    assert ok, output
