"""Equipment plan, quotes and purchase orders: the competition rule (three quotes or a
written justification), the per-order legal limit, the project's approved amount, the
receipt report, and amounts refused field by field with nothing saved."""

from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from core.exceptions import TamkeenError
from core.roles import Role
from disbursements import services as funding
from disbursements.models import Disbursement, EquipmentItem, PurchaseOrder, Quote, ReceiptReport
from ledger.models import AuditEntry

BAD_AMOUNTS = {
    "1000.001": "An amount has at most two decimals.",
    "-50.00": "The amount must be greater than zero.",
    "0": "The amount must be greater than zero.",
    "0.00": "The amount must be greater than zero.",
    12.5: "Amounts must be given as decimals, not floats.",
    "douze": "Enter an amount in dirhams, e.g. 45000.00.",
}


@pytest.fixture
def project(make_project):
    return make_project("funding", amount="60000.00")


@pytest.fixture
def suppliers(cast):
    return [funding.supplier_create(actor=cast.finance, name=f"Fournisseur {n}") for n in range(4)]


@pytest.fixture
def order(project, cast):
    return funding.purchase_order_create(project_id=project.pk, actor=cast.finance, description="Machines")


def quotes_on(order, suppliers, cast, *amounts):
    return [funding.quote_add(order_id=order.pk, actor=cast.finance, supplier_id=s.pk, amount=a)
            for s, a in zip(suppliers, amounts, strict=False)]


def refused(call):
    with pytest.raises(TamkeenError) as caught:
        call()
    return caught.value


def saved():
    return (EquipmentItem.objects.count(), Quote.objects.count(), Disbursement.objects.count(),
            AuditEntry.objects.count(), list(PurchaseOrder.objects.values_list("pk", "amount", "chosen_quote")))


# --- the competition rule ---------------------------------------------------------------


@pytest.mark.parametrize("count", [0, 1, 2])
def test_fewer_than_three_quotes_without_justification_are_refused(count, order, suppliers, cast):
    quotes = quotes_on(order, suppliers, cast, *["30000.00"] * count)
    before = saved()
    if quotes:
        error = refused(lambda: funding.purchase_order_choose_quote(
            order_id=order.pk, actor=cast.finance, quote_id=quotes[0].pk, reason="Moins cher."))
        assert (error.code, error.params["failures"]) == ("guard_failed", ["quotes_insufficient"])
        assert "at least three competing quotes" in error.field_errors["__all__"][0]
    # Issuing is refused too, naming every unmet rule.
    error = refused(lambda: funding.purchase_order_issue(order_id=order.pk, actor=cast.finance))
    assert (error.code, error.params["failures"]) == ("guard_failed", ["quote_not_chosen", "quotes_insufficient"])
    assert saved() == before


def test_a_written_justification_stands_in_for_the_missing_quotes(order, suppliers, cast):
    (quote,) = quotes_on(order, suppliers, cast, "30000.00")
    error = refused(lambda: funding.purchase_order_choose_quote(
        order_id=order.pk, actor=cast.finance, quote_id=quote.pk, reason="Seul fournisseur.", justification="  "))
    assert error.params["failures"] == ["quotes_insufficient"]
    funding.purchase_order_choose_quote(order_id=order.pk, actor=cast.finance, quote_id=quote.pk,
                                        reason="Seul fournisseur.", justification="Matériel sous licence exclusive.")
    issued = funding.purchase_order_issue(order_id=order.pk, actor=cast.finance)
    assert (issued.state, issued.amount, issued.supplier_id) == ("issued", Decimal("30000.00"), suppliers[0].pk)


def test_three_quotes_from_distinct_suppliers(order, suppliers, cast):
    quotes = quotes_on(order, suppliers, cast, "31000.00", "30000.00", "32000.00")
    error = refused(lambda: funding.quote_add(order_id=order.pk, actor=cast.finance, supplier_id=suppliers[0].pk,
                                              amount="29000.00"))
    assert error.code == "invalid_input" and "supplier" in error.field_errors
    error = refused(lambda: funding.purchase_order_choose_quote(
        order_id=order.pk, actor=cast.finance, quote_id=quotes[1].pk, reason=" "))
    assert error.field_errors == {"reason": ["This field is required."]}
    funding.purchase_order_choose_quote(order_id=order.pk, actor=cast.finance, quote_id=quotes[1].pk,
                                        reason="Moins-disant.")
    assert funding.purchase_order_issue(order_id=order.pk, actor=cast.finance).state == "issued"
    # Once issued, quotes are closed.
    error = refused(lambda: funding.quote_add(order_id=order.pk, actor=cast.finance, supplier_id=suppliers[3].pk,
                                              amount="1.00"))
    assert error.code == "transition_not_allowed"


# --- money limits -------------------------------------------------------------------------


def test_an_order_above_the_legal_limit_is_refused(make_project, cast, suppliers, settings):
    project = make_project("funding", amount="100000.00", requested_amount="100000.00", own_contribution="50000.00")
    settings.TAMKEEN_PURCHASE_ORDER_LIMIT = "50000.00"
    order = funding.purchase_order_create(project_id=project.pk, actor=cast.finance, description="Four")
    quotes = quotes_on(order, suppliers, cast, "50000.01", "50000.00", "52000.00")
    error = refused(lambda: funding.purchase_order_choose_quote(
        order_id=order.pk, actor=cast.finance, quote_id=quotes[0].pk, reason="Meilleure qualité."))
    assert (error.code, error.params["failures"]) == ("guard_failed", ["order_over_limit"])
    funding.purchase_order_choose_quote(order_id=order.pk, actor=cast.finance, quote_id=quotes[1].pk,
                                        reason="Dans la limite.")
    assert funding.purchase_order_issue(order_id=order.pk, actor=cast.finance).state == "issued"


def test_the_default_limit_is_200000_mad_including_tax(settings):
    assert Decimal(settings.TAMKEEN_PURCHASE_ORDER_LIMIT) == Decimal("200000.00")


def test_orders_together_stay_within_the_approved_amount(project, cast, suppliers):
    first = funding.purchase_order_create(project_id=project.pk, actor=cast.finance, description="Machines")
    (q1,) = quotes_on(first, suppliers, cast, "40000.00")
    funding.purchase_order_choose_quote(order_id=first.pk, actor=cast.finance, quote_id=q1.pk, reason="R.",
                                        justification="Urgence.")
    second = funding.purchase_order_create(project_id=project.pk, actor=cast.finance, description="Tables")
    (q2,) = quotes_on(second, suppliers, cast, "25000.00")
    # Both chosen while drafts: only issued orders spend the approved amount.
    funding.purchase_order_choose_quote(order_id=second.pk, actor=cast.finance, quote_id=q2.pk, reason="R.",
                                        justification="Urgence.")
    funding.purchase_order_issue(order_id=first.pk, actor=cast.finance)
    before = saved()
    error = refused(lambda: funding.purchase_order_issue(order_id=second.pk, actor=cast.finance))
    assert (error.code, error.params["failures"]) == ("budget_exceeded", ["order_over_approved"])
    assert saved() == before


@pytest.mark.parametrize("bad", list(BAD_AMOUNTS))
def test_bad_amounts_are_refused_field_by_field_and_nothing_is_saved(bad, project, order, suppliers, cast):
    message = BAD_AMOUNTS[bad]
    before = saved()
    error = refused(lambda: funding.equipment_item_add(project_id=project.pk, actor=cast.finance,
                                                       description="Machine", quantity=0, unit_price=bad))
    assert error.code == "invalid_input"
    assert error.field_errors == {"unit_price": [message], "quantity": ["Enter a whole number of at least 1."]}
    error = refused(lambda: funding.quote_add(order_id=order.pk, actor=cast.finance, supplier_id=suppliers[0].pk,
                                              amount=bad))
    assert (error.code, error.field_errors) == ("invalid_input", {"amount": [message]})
    error = refused(lambda: funding.disbursement_request(project_id=project.pk, actor=cast.finance, amount=bad))
    assert (error.code, error.field_errors) == ("invalid_input", {"amount": [message]})
    assert saved() == before


def test_the_equipment_plan_totals_exactly(project, cast):
    item = funding.equipment_item_add(project_id=project.pk, actor=cast.finance, description="Chaise",
                                      quantity="3", unit_price="1333.33")
    assert item.total == Decimal("3999.99")


# --- receipt report ---------------------------------------------------------------------


@pytest.fixture
def delivered(order, suppliers, cast):
    (quote,) = quotes_on(order, suppliers, cast, "30000.00")
    funding.purchase_order_choose_quote(order_id=order.pk, actor=cast.finance, quote_id=quote.pk, reason="R.",
                                        justification="Fournisseur unique.")
    funding.purchase_order_issue(order_id=order.pk, actor=cast.finance)
    funding.purchase_order_deliver(order_id=order.pk, actor=cast.officer)
    return order


def test_receipt_needs_both_signatures(delivered, cast, project):
    error = refused(lambda: funding.purchase_order_receive(order_id=delivered.pk, actor=cast.mentor))
    assert error.params["failures"] == ["receipt_not_signed"]
    funding.receipt_confirm_mentor(order_id=delivered.pk, actor=cast.mentor)
    error = refused(lambda: funding.purchase_order_receive(order_id=delivered.pk, actor=cast.mentor))
    assert error.params["failures"] == ["receipt_not_signed"]
    # Agents witness, they do not sign for the mentor; mentors do not witness.
    assert refused(lambda: funding.receipt_confirm_mentor(order_id=delivered.pk, actor=cast.agent)).code == (
        "permission_denied")
    assert refused(lambda: funding.receipt_witness_beneficiary(order_id=delivered.pk, actor=cast.mentor)).code == (
        "permission_denied")
    funding.receipt_witness_beneficiary(order_id=delivered.pk, actor=cast.agent)
    assert funding.purchase_order_receive(order_id=delivered.pk, actor=cast.officer).state == "received"
    assert funding.project_confirm_equipment(project_id=project.pk, actor=cast.officer).state == "equipped"


def test_one_person_cannot_sign_as_mentor_and_witness(delivered, make_user):
    both = make_user(Role.MENTOR, Role.ASSOCIATION_AGENT)
    funding.receipt_confirm_mentor(order_id=delivered.pk, actor=both)
    error = refused(lambda: funding.receipt_witness_beneficiary(order_id=delivered.pk, actor=both))
    assert error.code == "separation_of_duties"
    assert ReceiptReport.objects.get(order=delivered).beneficiary_witness is None


def test_each_signature_is_given_once(delivered, cast):
    funding.receipt_confirm_mentor(order_id=delivered.pk, actor=cast.mentor)
    funding.receipt_witness_beneficiary(order_id=delivered.pk, actor=cast.agent, statement="Conforme.")
    before = AuditEntry.objects.count()
    for again in (lambda: funding.receipt_confirm_mentor(order_id=delivered.pk, actor=cast.mentor),
                  lambda: funding.receipt_witness_beneficiary(order_id=delivered.pk, actor=cast.agent)):
        assert refused(again).code == "receipt_already_signed"
    receipt = ReceiptReport.objects.get(order=delivered)
    assert (receipt.beneficiary_statement, AuditEntry.objects.count()) == ("Conforme.", before)


def test_the_files_mentor_signs_when_the_file_has_one(delivered, cast, project, make_user):
    from followup.services import project_assign_mentor

    assigned = make_user(Role.MENTOR)
    project_assign_mentor(project_id=project.pk, actor=cast.officer, mentor_id=assigned.pk)
    error = refused(lambda: funding.receipt_confirm_mentor(order_id=delivered.pk, actor=cast.mentor))
    assert (error.code, error.message) == ("not_the_files_mentor", "Only the file's mentor signs its receipt report.")
    assert funding.receipt_confirm_mentor(order_id=delivered.pk, actor=assigned).mentor == assigned


def test_a_signed_scan_is_a_receipt_report(delivered, cast):
    content = b"%PDF-1.4 PV de reception signe"
    receipt = funding.receipt_attach_scan(order_id=delivered.pk, actor=cast.mentor,
                                          uploaded_file=SimpleUploadedFile("pv.pdf", content, "application/pdf"))
    import hashlib

    assert receipt.scan_sha256 == hashlib.sha256(content).hexdigest()
    received = funding.purchase_order_receive(order_id=delivered.pk, actor=cast.mentor)
    entry = AuditEntry.objects.for_entity(received).get(transition="receive")
    assert entry.payload == {"receipt": "scan", "sha256": receipt.scan_sha256, "mentor": None, "witness": None}


def test_equipment_is_not_received_without_any_order(project, cast):
    error = refused(lambda: funding.project_confirm_equipment(project_id=project.pk, actor=cast.officer))
    assert (error.code, error.params["failures"]) == ("guard_failed", ["orders_not_received"])
    assert error.field_errors["__all__"] == ["The project has no purchase order yet."]


def test_equipment_waits_for_every_order(delivered, project, cast):
    other = funding.purchase_order_create(project_id=project.pk, actor=cast.finance, description="Tables")
    funding.receipt_confirm_mentor(order_id=delivered.pk, actor=cast.mentor)
    funding.receipt_witness_beneficiary(order_id=delivered.pk, actor=cast.agent)
    funding.purchase_order_receive(order_id=delivered.pk, actor=cast.mentor)
    error = refused(lambda: funding.project_confirm_equipment(project_id=project.pk, actor=cast.officer))
    assert error.field_errors["__all__"] == [
        f"Purchase orders not received with a signed receipt report: {other.reference} (draft)."
    ]


def test_tranches_stay_within_the_order_and_the_project(delivered, project, cast):
    error = refused(lambda: funding.disbursement_request(project_id=project.pk, actor=cast.finance,
                                                         amount="30000.01", purchase_order_id=delivered.pk))
    assert (error.code, error.params["failures"]) == ("budget_exceeded", ["order_amount_exceeded"])
    error = refused(lambda: funding.disbursement_request(project_id=project.pk, actor=cast.finance,
                                                         amount="60000.01"))
    assert (error.code, error.params["failures"]) == ("budget_exceeded", ["project_approved_exceeded"])
    draft = funding.purchase_order_create(project_id=project.pk, actor=cast.finance, description="Tables")
    error = refused(lambda: funding.disbursement_request(project_id=project.pk, actor=cast.finance,
                                                         amount="10.00", purchase_order_id=draft.pk))
    assert error.code == "invalid_input" and "purchase_order" in error.field_errors
