"""The equipment and procurement screens through the Django test client: the equipment
plan, suppliers, purchase orders from their quotes to their reception with the receipt
report, the confirmation of a file's equipment and the cancellation of a tranche. Each
screen: its role gets the form, another role a 403; a valid post changes the record
through its service (and its audit entry); a refused one shows the coded error on the
form's field with a 200 and changes nothing; an irreversible one wants its tick."""

import hashlib
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from core.roles import Role
from disbursements import services as funding
from disbursements.models import Disbursement, EquipmentItem, PurchaseOrder, Quote, ReceiptReport, Supplier
from ledger.models import AuditEntry
from tests._uploads import pdf_bytes
from tests._web import as_user, html_of
from workflow.models import GrantProject

pytestmark = pytest.mark.django_db

TICK = "Tick the box to confirm: this cannot be undone."


def url(name, *args):
    return reverse(f"funding:{name}", args=args)


def chain(entity):
    return [(e.transition, e.from_state, e.to_state, e.actor.username)
            for e in AuditEntry.objects.for_entity(entity).select_related("actor").order_by("seq")]


def entries():
    return AuditEntry.objects.count()


def errors_of(response):
    assert response.status_code == 200, response.status_code
    return response.context["form"].errors


def scan(content=b"%PDF-1.4 PV de reception signe", name="pv.pdf"):
    return SimpleUploadedFile(name, content, content_type="application/pdf")


@pytest.fixture
def project(make_project):
    return make_project("funding", amount="60000.00")


@pytest.fixture
def auditor(make_user):
    return make_user(Role.AUDITOR, username="auditrice")


@pytest.fixture
def trainer(make_user):
    return make_user(Role.TRAINER, username="formatrice")


# --- The whole path through the screens ----------------------------------------------------


def test_a_file_is_equipped_entirely_through_the_screens(client, cast, project):
    pid = project.pk

    # The equipment plan, by the program officer.
    as_user(client, cast.officer)
    for description, quantity, price in (("Machine à coudre industrielle", "2", "18 000,00"),
                                         ("Surjeteuse", "1", "12 500,50")):
        response = client.post(url("plan", pid), {"description": description, "quantity": quantity,
                                                  "unit_price": price})
        assert response.status_code == 302 and response["Location"] == url("plan", pid)
    page = client.get(url("plan", pid))
    assert page.context["plan_total"] == Decimal("48500.50") and "48,500.50" in html_of(page)

    # Three suppliers, an order and their three quotes, by the finance officer.
    as_user(client, cast.finance)
    for name, ice in (("Atlas Couture", "001234567000089"), ("Rif Machines", ""), ("Oriental Pro", "")):
        assert client.post(url("supplier_create"), {"name": name, "ice": ice, "city": "Nador"}).status_code == 302
    response = client.post(url("order_create", pid), {"description": "Machines de couture"})
    order = PurchaseOrder.objects.get(project_id=pid)
    assert response["Location"] == url("quote_add", order.pk)
    quote_scan = b"%PDF-1.4 devis Atlas Couture"
    for name, amount in (("Atlas Couture", "52 500,00"), ("Rif Machines", "54 000,00"),
                         ("Oriental Pro", "53 250,00")):
        data = {"supplier": Supplier.objects.get(name=name).pk, "amount": amount, "reference": f"DEV-{name[:4]}"}
        if name == "Atlas Couture":
            data["scan"] = scan(quote_scan, "devis.pdf")
        assert client.post(url("quote_add", order.pk), data).status_code == 302
    chosen = Quote.objects.get(order=order, supplier__name="Atlas Couture")
    assert chosen.amount == Decimal("52500.00")
    assert chosen.document_sha256 == hashlib.sha256(quote_scan).hexdigest()
    assert client.post(url("order_choose", order.pk), {"quote": chosen.pk, "reason": "Moins-disant."}).status_code == 302
    assert client.post(url("order_issue", order.pk), {"confirm": "on"}).status_code == 302

    # Delivery and the receipt report: the mentor, then the beneficiary before the agent.
    as_user(client, cast.mentor)
    assert client.post(url("order_deliver", order.pk), {"note": "Livré à l'atelier.", "confirm": "on"}).status_code == 302
    assert client.post(url("receipt_scan", order.pk), {"scan": scan()}).status_code == 302
    assert client.post(url("receipt_confirm", order.pk), {"confirm": "on"}).status_code == 302
    as_user(client, cast.agent)
    assert client.post(url("receipt_witness", order.pk), {"statement": "Matériel conforme.",
                                                          "confirm": "on"}).status_code == 302
    as_user(client, cast.mentor)
    assert client.post(url("order_receive", order.pk), {"confirm": "on"}).status_code == 302

    # The file equipped, by the program officer.
    as_user(client, cast.officer)
    response = client.post(url("confirm_equipment", pid), {"confirm": "on"}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("projects:detail", args=[pid])
    assert "is confirmed: the file is equipped" in html_of(response)

    assert GrantProject.objects.get(pk=pid).state == "equipped"
    assert chain(project)[-1] == ("equipment_received", "funding", "equipped", "officer")
    assert chain(order) == [
        ("create", "", "draft", "finance"),
        *[("add_quote", "draft", "draft", "finance")] * 3,
        ("choose_quote", "draft", "draft", "finance"),
        ("issue", "draft", "issued", "finance"),
        ("deliver", "issued", "delivered", "mentor"),
        ("attach_receipt_scan", "delivered", "delivered", "mentor"),
        ("confirm_receipt", "delivered", "delivered", "mentor"),
        ("witness_receipt", "delivered", "delivered", "agent"),
        ("receive", "delivered", "received", "mentor"),
    ]
    order = PurchaseOrder.objects.get(pk=order.pk)
    assert (order.state, order.amount, order.supplier.name) == ("received", Decimal("52500.00"), "Atlas Couture")
    receipt = ReceiptReport.objects.get(order=order)
    assert (receipt.mentor, receipt.beneficiary_witness, receipt.beneficiary_statement) == (
        cast.mentor, cast.agent, "Matériel conforme.")
    assert receipt.scan_sha256 == hashlib.sha256(b"%PDF-1.4 PV de reception signe").hexdigest()


# --- Who reaches which screen -------------------------------------------------------------------

ORDER_SCREENS = ["quote_add", "order_choose", "order_issue", "order_deliver", "receipt_scan", "receipt_confirm",
                 "receipt_witness", "order_receive"]


@pytest.mark.parametrize("name, owner, outsider", [
    ("plan", "officer", "agent"),
    ("plan", "mentor", "auditor"),
    ("plan", "finance", "trainer"),
    ("orders", "mentor", "trainer"),
    ("orders", "agent", "trainer"),
    ("order_create", "finance", "officer"),
    ("confirm_equipment", "officer", "finance"),
])
def test_project_screens_open_to_their_roles_only(client, cast, auditor, trainer, project, name, owner, outsider):
    people = {**vars(cast), "auditor": auditor, "trainer": trainer}
    assert as_user(client, people[owner]).get(url(name, project.pk)).status_code == 200
    assert as_user(client, people[outsider]).get(url(name, project.pk)).status_code == 403


@pytest.mark.parametrize("name, owners, outsiders", [
    ("quote_add", ["finance"], ["officer", "mentor"]),
    ("order_choose", ["finance"], ["mentor", "agent"]),
    ("order_issue", ["finance"], ["officer"]),
    ("order_deliver", ["officer", "mentor"], ["finance", "agent"]),
    ("receipt_scan", ["officer", "mentor"], ["finance", "agent"]),
    ("receipt_confirm", ["mentor"], ["officer", "agent"]),
    ("receipt_witness", ["agent"], ["mentor", "officer"]),
    ("order_receive", ["officer", "mentor"], ["finance", "agent"]),
])
def test_order_screens_open_to_the_role_of_their_transition(client, cast, project, make_order, name, owners,
                                                             outsiders):
    order = make_order(project)
    for who in owners:
        assert as_user(client, getattr(cast, who)).get(url(name, order.pk)).status_code == 200, who
    for who in outsiders:
        assert as_user(client, getattr(cast, who)).get(url(name, order.pk)).status_code == 403, who
        before = entries()
        assert client.post(url(name, order.pk), {"confirm": "on"}).status_code == 403
        assert entries() == before


def test_an_order_that_does_not_exist_is_not_found(client, cast):
    assert as_user(client, cast.finance).get(url("quote_add", 999999)).status_code == 404


def test_a_step_out_of_its_state_says_why_on_its_page(client, cast, project, make_order):
    order = make_order(project)
    html = html_of(as_user(client, cast.mentor).get(url("order_receive", order.pk)))
    assert "This step is not open while the order is draft." in html


# --- The equipment plan -------------------------------------------------------------------------


def test_the_plan_lists_its_items_and_its_total_against_the_approved_amount(client, cast, project):
    funding.equipment_item_add(project_id=project.pk, actor=cast.finance, description="Four", quantity=1,
                               unit_price="65000.00")
    response = as_user(client, cast.mentor).get(url("plan", project.pk))
    html = html_of(response)
    assert "Four" in html and "65,000.00" in html and "60,000.00" in html
    assert response.context["over_approved"]
    assert "costs more than the approved amount" in html


def test_a_refused_plan_item_shows_the_services_errors_on_its_fields(client, cast, project):
    as_user(client, cast.officer)
    errors = errors_of(client.post(url("plan", project.pk), {"description": "Chaise", "quantity": "0",
                                                             "unit_price": "12,345"}))
    assert errors == {"quantity": ["Enter a whole number of at least 1."],
                      "unit_price": ["An amount has at most two decimals."]}
    assert not EquipmentItem.objects.exists()


def test_the_plan_is_closed_once_the_file_is_equipped(client, cast, make_project):
    equipped = make_project("equipped", amount="50000.00")
    as_user(client, cast.officer)
    assert "The equipment plan is closed for this file." in html_of(client.get(url("plan", equipped.pk)))
    errors = errors_of(client.post(url("plan", equipped.pk), {"description": "Chaise", "quantity": "1",
                                                              "unit_price": "100"}))
    assert errors["__all__"] == ["The equipment plan is closed for this file."]
    assert not EquipmentItem.objects.filter(project=equipped).exists()


# --- Suppliers ----------------------------------------------------------------------------------


def test_the_supplier_list_searches_paginates_and_says_when_empty(client, cast, auditor):
    as_user(client, auditor)
    html = html_of(client.get(url("suppliers")))
    assert "No supplier is registered yet" in html and url("supplier_create") not in html
    for n in range(30):
        funding.supplier_create(actor=cast.finance, name=f"Fournisseur {n:02d}", city="Zaïo" if n == 7 else "Nador")
    first = client.get(url("suppliers"))
    assert [s.name for s in first.context["page"]][:2] == ["Fournisseur 00", "Fournisseur 01"]
    assert len(first.context["page"]) == 25 and first.context["page"].has_next()
    assert [s.name for s in client.get(url("suppliers"), {"page": 2}).context["page"]][-1] == "Fournisseur 29"
    assert [s.name for s in client.get(url("suppliers"), {"q": "zaïo"}).context["page"]] == ["Fournisseur 07"]
    assert "No supplier matches this search." in html_of(client.get(url("suppliers"), {"q": "Tanger"}))
    assert url("supplier_create") in html_of(as_user(client, cast.finance).get(url("suppliers")))


def test_suppliers_are_registered_by_finance_officers_only(client, cast, auditor, trainer):
    assert as_user(client, trainer).get(url("suppliers")).status_code == 403
    assert as_user(client, auditor).get(url("supplier_create")).status_code == 403
    assert client.post(url("supplier_create"), {"name": "Atlas"}).status_code == 403
    assert not Supplier.objects.exists()
    as_user(client, cast.finance)
    assert client.get(url("supplier_create")).status_code == 200
    response = client.post(url("supplier_create"), {"name": " Atlas Couture ", "ice": "001234567000089",
                                                     "city": "Nador"})
    assert response.status_code == 302 and response["Location"].startswith(url("suppliers") + "?q=Atlas")
    assert Supplier.objects.get().created_by == cast.finance


def test_a_refused_supplier_shows_why_on_its_fields(client, cast):
    funding.supplier_create(actor=cast.finance, name="Atlas Couture")
    as_user(client, cast.finance)
    errors = errors_of(client.post(url("supplier_create"), {"name": "Atlas Couture", "ice": "12345", "city": ""}))
    assert set(errors) == {"name", "ice"} and errors["ice"] == ["The ICE has 15 digits."]
    assert Supplier.objects.count() == 1


def test_registering_a_supplier_from_a_quote_goes_back_to_the_quote(client, cast, project, make_order):
    order = make_order(project, quotes=0)
    as_user(client, cast.finance)
    back = url("quote_add", order.pk)
    assert f"next={back.replace('/', '%2F')}" in html_of(client.get(back))
    response = client.post(url("supplier_create") + f"?next={back}", {"name": "Rif Machines"})
    assert response["Location"] == back
    # Only pages of this site.
    response = client.post(url("supplier_create") + "?next=https://evil.example/", {"name": "Oriental Pro"})
    assert response["Location"].startswith(url("suppliers"))


# --- Purchase orders: create, quotes, choice, issue --------------------------------------------


def test_a_new_order_is_a_draft_with_its_create_entry(client, cast, project):
    as_user(client, cast.finance)
    response = client.post(url("order_create", project.pk), {"description": "Machines"})
    order = PurchaseOrder.objects.get(project=project)
    assert response.status_code == 302 and order.state == "draft"
    assert chain(order) == [("create", "", "draft", "finance")]


def test_no_order_before_funding_is_opened(client, cast, make_project):
    approved = make_project("approved", amount="50000.00")
    as_user(client, cast.finance)
    assert "Purchase orders are prepared once the file is in funding." in html_of(
        client.get(url("order_create", approved.pk)))
    errors = errors_of(client.post(url("order_create", approved.pk), {"description": "Machines"}))
    assert errors["__all__"] == ["Purchase orders are prepared while the file is in funding."]
    assert not PurchaseOrder.objects.exists()


def test_a_quote_in_french_format_is_added_with_its_entry(client, cast, project, make_order):
    order = make_order(project, quotes=0)
    supplier = funding.supplier_create(actor=cast.finance, name="Atlas Couture")
    as_user(client, cast.finance)
    response = client.post(url("quote_add", order.pk), {"supplier": supplier.pk, "amount": "52 500,00",
                                                        "reference": "DEV-17"})
    assert response.status_code == 302
    quote = Quote.objects.get(order=order)
    assert (quote.amount, quote.reference, quote.document_sha256) == (Decimal("52500.00"), "DEV-17", "")
    assert chain(order)[-1] == ("add_quote", "draft", "draft", "finance")
    # The supplier who quoted is no longer offered for this order.
    assert supplier not in client.get(url("quote_add", order.pk)).context["form"].fields["supplier"].queryset


@pytest.mark.parametrize("amount, message", [
    ("12,345", "An amount has at most two decimals."),
    ("0,00", "The amount must be greater than zero."),
    ("cinquante", "Enter an amount in dirhams, e.g. 45000.00."),
])
def test_a_refused_quote_amount_is_shown_on_the_amount(client, cast, project, make_order, amount, message):
    order = make_order(project, quotes=0)
    supplier = funding.supplier_create(actor=cast.finance, name="Atlas Couture")
    before = entries()
    as_user(client, cast.finance)
    errors = errors_of(client.post(url("quote_add", order.pk), {"supplier": supplier.pk, "amount": amount}))
    assert errors == {"amount": [message]}
    assert (Quote.objects.count(), entries()) == (0, before)


def test_fewer_than_three_quotes_need_the_justification_on_its_field(client, cast, project, make_order):
    order = make_order(project, quotes=1)
    quote = order.quotes.get()
    before = entries()
    as_user(client, cast.finance)
    errors = errors_of(client.post(url("order_choose", order.pk), {"quote": quote.pk, "reason": "Seul devis."}))
    assert list(errors) == ["justification"]
    assert "at least three competing quotes" in errors["justification"][0]
    order = PurchaseOrder.objects.get(pk=order.pk)
    assert (order.chosen_quote_id, entries()) == (None, before)

    response = client.post(url("order_choose", order.pk), {
        "quote": quote.pk, "reason": "Seul devis.", "justification": "Fournisseur agréé unique."})
    assert response.status_code == 302
    order = PurchaseOrder.objects.get(pk=order.pk)
    assert (order.chosen_quote_id, order.amount, order.quote_justification) == (
        quote.pk, Decimal("30000.00"), "Fournisseur agréé unique.")
    assert chain(order)[-1] == ("choose_quote", "draft", "draft", "finance")


def test_a_quote_above_the_legal_limit_is_refused_on_the_quote(client, cast, project, make_order, settings):
    settings.TAMKEEN_PURCHASE_ORDER_LIMIT = "30500.00"
    order = make_order(project, amounts=("31000.00", "30000.00", "32000.00"))
    dear = order.quotes.get(amount="31000.00")
    as_user(client, cast.finance)
    errors = errors_of(client.post(url("order_choose", order.pk), {"quote": dear.pk, "reason": "Qualité."}))
    assert list(errors) == ["quote"] and "cannot exceed" in errors["quote"][0]
    assert PurchaseOrder.objects.get(pk=order.pk).chosen_quote_id is None


def test_issuing_wants_the_tick_and_a_chosen_quote(client, cast, project, make_order):
    draft = make_order(project)
    as_user(client, cast.finance)
    errors = errors_of(client.post(url("order_issue", draft.pk), {"confirm": "on"}))
    assert "Choose one of the quotes first." in errors["__all__"]
    chosen = make_order(project, "chosen")
    before = entries()
    assert errors_of(client.post(url("order_issue", chosen.pk), {})) == {"confirm": [TICK]}
    assert (PurchaseOrder.objects.get(pk=chosen.pk).state, entries()) == ("draft", before)
    assert client.post(url("order_issue", chosen.pk), {"confirm": "on"}).status_code == 302
    chosen = PurchaseOrder.objects.get(pk=chosen.pk)
    assert (chosen.state, chosen.issued_by) == ("issued", cast.finance)
    assert chain(chosen)[-1] == ("issue", "draft", "issued", "finance")


# --- Delivery and the receipt report -----------------------------------------------------------


def test_delivery_wants_the_tick_and_keeps_the_note(client, cast, project, make_order):
    order = make_order(project, "issued")
    as_user(client, cast.officer)
    assert errors_of(client.post(url("order_deliver", order.pk), {"note": "Livré."})) == {"confirm": [TICK]}
    assert PurchaseOrder.objects.get(pk=order.pk).state == "issued"
    assert client.post(url("order_deliver", order.pk), {"note": "Livré.", "confirm": "on"}).status_code == 302
    assert PurchaseOrder.objects.get(pk=order.pk).state == "delivered"
    entry = AuditEntry.objects.for_entity(order).get(transition="deliver")
    assert (entry.payload, entry.actor) == ({"note": "Livré."}, cast.officer)


def test_a_scan_larger_than_allowed_is_refused_on_the_scan(client, cast, project, make_order, settings):
    order = make_order(project, "delivered")
    settings.TAMKEEN_MAX_DOCUMENT_BYTES = 10
    before = entries()
    as_user(client, cast.mentor)
    errors = errors_of(client.post(url("receipt_scan", order.pk), {"scan": scan()}))
    assert list(errors) == ["scan"] and "larger than" in errors["scan"][0]
    assert (ReceiptReport.objects.filter(order=order, scan_sha256__gt="").exists(), entries()) == (False, before)


def test_the_signed_scan_is_fingerprinted_and_audited(client, cast, project, make_order):
    order = make_order(project, "delivered")
    as_user(client, cast.officer)
    signed = pdf_bytes("PV signe")
    assert client.post(url("receipt_scan", order.pk), {"scan": scan(signed)}).status_code == 302
    digest = hashlib.sha256(signed).hexdigest()
    assert ReceiptReport.objects.get(order=order).scan_sha256 == digest
    assert AuditEntry.objects.for_entity(order).get(transition="attach_receipt_scan").payload == {"sha256": digest}


def test_the_mentors_signature_wants_the_tick(client, cast, project, make_order):
    order = make_order(project, "delivered")
    as_user(client, cast.mentor)
    assert errors_of(client.post(url("receipt_confirm", order.pk), {})) == {"confirm": [TICK]}
    assert not ReceiptReport.objects.filter(order=order, mentor__isnull=False).exists()
    assert client.post(url("receipt_confirm", order.pk), {"confirm": "on"}).status_code == 302
    assert ReceiptReport.objects.get(order=order).mentor == cast.mentor
    assert chain(order)[-1] == ("confirm_receipt", "delivered", "delivered", "mentor")
    # Signed once: a second signature is refused, on the page.
    before = entries()
    errors = errors_of(client.post(url("receipt_confirm", order.pk), {"confirm": "on"}))
    assert errors["__all__"] == ["The mentor already signed this receipt report."]
    assert entries() == before


def test_only_the_files_mentor_signs_when_the_file_has_one(client, cast, project, make_order, make_user):
    from followup.services import project_assign_mentor

    other = make_user(Role.MENTOR, username="autre-mentor")
    project_assign_mentor(project_id=project.pk, actor=cast.officer, mentor_id=other.pk)
    order = make_order(project, "delivered")
    as_user(client, cast.mentor)
    errors = errors_of(client.post(url("receipt_confirm", order.pk), {"confirm": "on"}))
    assert errors["__all__"] == ["Only the file's mentor signs its receipt report."]
    assert not ReceiptReport.objects.filter(order=order, mentor__isnull=False).exists()
    as_user(client, other)
    assert client.post(url("receipt_confirm", order.pk), {"confirm": "on"}).status_code == 302
    assert ReceiptReport.objects.get(order=order).mentor == other


def test_the_witness_records_the_beneficiarys_signature_and_remarks(client, cast, project, make_order):
    order = make_order(project, "delivered")
    as_user(client, cast.agent)
    assert errors_of(client.post(url("receipt_witness", order.pk), {"statement": "OK"})) == {"confirm": [TICK]}
    response = client.post(url("receipt_witness", order.pk), {"statement": "Une pédale manque.", "confirm": "on"})
    assert response.status_code == 302
    receipt = ReceiptReport.objects.get(order=order)
    assert (receipt.beneficiary_witness, receipt.beneficiary_statement) == (cast.agent, "Une pédale manque.")
    entry = AuditEntry.objects.for_entity(order).get(transition="witness_receipt")
    assert entry.payload == {"signed_as": "beneficiary", "statement": "Une pédale manque."}


def test_the_mentor_who_signed_does_not_witness(client, project, make_order, make_user):
    both = make_user(Role.MENTOR, Role.ASSOCIATION_AGENT, username="double")
    order = make_order(project, "delivered")
    funding.receipt_confirm_mentor(order_id=order.pk, actor=both)
    before = entries()
    as_user(client, both)
    errors = errors_of(client.post(url("receipt_witness", order.pk), {"statement": "", "confirm": "on"}))
    assert errors["__all__"] == ["You signed as the mentor; another person must witness the beneficiary."]
    assert (ReceiptReport.objects.get(order=order).beneficiary_witness, entries()) == (None, before)


def test_reception_wants_the_signed_report_and_the_tick(client, cast, project, make_order):
    order = make_order(project, "delivered")
    as_user(client, cast.mentor)
    errors = errors_of(client.post(url("order_receive", order.pk), {"confirm": "on"}))
    assert errors["__all__"] == ["The receipt report must be signed by the beneficiary and the mentor."]
    funding.receipt_attach_scan(order_id=order.pk, actor=cast.officer, uploaded_file=scan())
    assert errors_of(client.post(url("order_receive", order.pk), {})) == {"confirm": [TICK]}
    assert PurchaseOrder.objects.get(pk=order.pk).state == "delivered"
    assert client.post(url("order_receive", order.pk), {"confirm": "on"}).status_code == 302
    order = PurchaseOrder.objects.get(pk=order.pk)
    assert (order.state, order.received_by) == ("received", cast.mentor)
    assert AuditEntry.objects.for_entity(order).get(transition="receive").payload["receipt"] == "scan"


# --- The file's equipment ----------------------------------------------------------------------


def test_equipment_is_confirmed_only_once_every_order_is_received(client, cast, project, make_order):
    received = make_order(project, "received")
    pending = make_order(project, "issued")
    as_user(client, cast.officer)
    page = html_of(client.get(url("confirm_equipment", project.pk)))
    assert f"{pending.reference} (issued)" in page and received.reference in page
    assert errors_of(client.post(url("confirm_equipment", project.pk), {})) == {"confirm": [TICK]}
    errors = errors_of(client.post(url("confirm_equipment", project.pk), {"confirm": "on"}))
    assert errors["__all__"] == [
        f"Purchase orders not received with a signed receipt report: {pending.reference} (issued)."]
    assert GrantProject.objects.get(pk=project.pk).state == "funding"
    assert chain(project)[-1][0] == "open_funding"


# --- Cancelling a tranche ----------------------------------------------------------------------


@pytest.fixture
def tranche(project, people):
    return funding.disbursement_request(project_id=project.pk, actor=people["finance"], amount="2000.00")


def test_a_finance_officer_cancels_a_request_with_a_reason_and_the_tick(client, people, tranche):
    as_user(client, people["authorizer"])
    assert client.get(url("disbursement_cancel", tranche.pk)).status_code == 403
    as_user(client, people["finance"])
    assert client.get(url("disbursement_cancel", tranche.pk)).status_code == 200
    assert set(errors_of(client.post(url("disbursement_cancel", tranche.pk), {"reason": " "}))) == {
        "reason", "confirm"}
    assert Disbursement.objects.get(pk=tranche.pk).state == "requested"
    response = client.post(url("disbursement_cancel", tranche.pk), {"reason": "Doublon.", "confirm": "on"})
    assert response["Location"] == url("project", tranche.project_id)
    tranche = Disbursement.objects.get(pk=tranche.pk)
    assert (tranche.state, tranche.closing_reason, tranche.closed_by) == ("cancelled", "Doublon.", people["finance"])
    assert chain(tranche)[-1] == ("cancel", "requested", "cancelled", "finance")


def test_the_authorizer_does_not_cancel_what_they_authorized(client, people, make_user, project):
    both = make_user(Role.FINANCE_OFFICER, Role.AUTHORIZING_OFFICER, username="cumulard")
    d = funding.disbursement_request(project_id=project.pk, actor=people["finance"], amount="2000.00")
    funding.disbursement_authorize(disbursement_id=d.pk, actor=both)
    as_user(client, both)
    assert "You authorized it: another person cancels it." in html_of(client.get(url("disbursement_cancel", d.pk)))
    before = entries()
    errors = errors_of(client.post(url("disbursement_cancel", d.pk), {"reason": "Erreur.", "confirm": "on"}))
    assert "already took another step" in errors["__all__"][0]
    assert (Disbursement.objects.get(pk=d.pk).state, entries()) == ("authorized", before)


def test_a_released_tranche_cannot_be_cancelled(client, people, tranche):
    funding.disbursement_authorize(disbursement_id=tranche.pk, actor=people["authorizer"])
    funding.disbursement_release(disbursement_id=tranche.pk, actor=people["treasurer"], password="pass-Tamkeen-2025",
                                 payment_reference="VIR-1", idempotency_key="k-1")
    as_user(client, people["finance"])
    assert "can no longer be cancelled" in html_of(client.get(url("disbursement_cancel", tranche.pk)))
    errors = errors_of(client.post(url("disbursement_cancel", tranche.pk), {"reason": "Trop tard.", "confirm": "on"}))
    assert errors["__all__"]
    assert Disbursement.objects.get(pk=tranche.pk).state == "released"
