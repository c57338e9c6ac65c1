"""Equipment procurement: the plan, suppliers, quotes, purchase orders and receipt.

Purchase orders follow ``draft → issued → delivered → received``. While a draft, the
finance officer adds competing quotes and chooses one with its reason (both audited on
the order's chain, state unchanged). Issuing needs three quotes from distinct suppliers
or a written justification, an amount ≤ the per-order legal limit (incl. tax) and ≤ the
project's approved amount minus its other orders. Receipt needs the signed receipt
report: a scan with its SHA-256, or the mentor's and the witnessed beneficiary's
confirmations in the application.

Errors: ``permission_denied``, ``separation_of_duties``, ``invalid_input`` (field-level,
nothing saved; a refused scan has its own code, see ``core.uploads``),
``transition_not_allowed``, ``guard_failed`` (the rule's code in ``params["failures"]``),
``budget_exceeded``, ``not_found``, ``concurrent_update``.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from core import scopes
from core.exceptions import (
    BudgetExceeded,
    GuardFailed,
    InvalidInput,
    PermissionDenied,
    SeparationOfDuties,
    TransitionNotAllowed,
)
from core.input import require_text
from core.money import format_mad
from core.transactions import service_transaction
from core.uploads import accept_upload
from disbursements.locks import lock_funding_project, lock_order
from disbursements.models import EquipmentItem, PurchaseOrder, Quote, ReceiptReport, Supplier
from disbursements.selectors import equipment_receipt, orders_total
from disbursements.services._common import (
    PLANNING_STATES,
    parse_amounts,
    record_create,
    require_project_state,
)
from ledger.transitions import apply_transition, check_permission, check_transition
from workflow.facts import EQUIPMENT
from workflow.locks import lock_project
from workflow.models import GrantProject
from workflow.services import transition_project

PREPARE = "disbursements.prepare_purchaseorder"


# --- Equipment plan and suppliers -----------------------------------------------------------


@service_transaction
def equipment_item_add(*, project_id, actor, description, quantity, unit_price) -> EquipmentItem:
    """Add a line to a project's equipment plan (from approval until funding is done).
    Program officer, mentor or finance officer. Every invalid field is reported at once."""
    check_permission(actor, "disbursements.plan_equipment")
    errors = {}
    try:
        description = require_text(description, "description", max_length=200)
    except InvalidInput as exc:
        errors.update(exc.field_errors)
    try:
        unit_price = parse_amounts(unit_price=unit_price)["unit_price"]
    except InvalidInput as exc:
        errors.update(exc.field_errors)
    if isinstance(quantity, bool) or not isinstance(quantity, (int, str)) or not str(quantity).strip().isdigit() \
            or int(quantity) < 1:
        errors["quantity"] = [_("Enter a whole number of at least 1.")]
    if errors:
        raise InvalidInput(field_errors=errors)
    project = lock_funding_project(project_id)
    scopes.check(actor, project, "disbursements.plan_equipment")
    require_project_state(project, PLANNING_STATES, _("The equipment plan is closed for this file."))
    return EquipmentItem.objects.create(
        project=project, description=description, quantity=int(quantity), unit_price=unit_price, created_by=actor,
    )


@service_transaction
def supplier_create(*, actor, name, ice="", city="") -> Supplier:
    """Register a supplier. Finance officer. The name is unique; the ICE has 15 digits."""
    check_permission(actor, "disbursements.add_supplier")
    supplier = Supplier(name=(name or "").strip(), ice=(ice or "").strip(), city=(city or "").strip(),
                        created_by=actor)
    try:
        supplier.full_clean(exclude=["created_by"])
    except ValidationError as exc:
        raise InvalidInput(field_errors=exc.message_dict) from None
    supplier.save()
    return supplier


# --- Purchase orders: draft -----------------------------------------------------------------


@service_transaction
def purchase_order_create(*, project_id, actor, description) -> PurchaseOrder:
    """Open a draft purchase order on a project in funding. Finance officer. Audited as
    ``create``."""
    check_permission(actor, PREPARE)
    description = require_text(description, "description")
    project = lock_funding_project(project_id)
    require_project_state(project, ("funding",), _("Purchase orders are prepared while the file is in funding."))
    order = PurchaseOrder.objects.create(project=project, description=description, created_by=actor)
    record_create(order, actor, PREPARE, {"project": project.pk, "description": description})
    return order


@service_transaction
def quote_add(*, order_id, actor, supplier_id, amount, reference="", document_sha256="") -> Quote:
    """Add a supplier's quote (amount incl. tax) to a draft order; one per supplier.
    Finance officer. Audited on the order as ``add_quote``."""
    check_permission(actor, PREPARE)
    errors = {}
    try:
        amount = parse_amounts(amount=amount)["amount"]
    except InvalidInput as exc:
        errors.update(exc.field_errors)
    document_sha256 = (document_sha256 or "").strip().lower()
    if document_sha256 and (len(document_sha256) != 64 or set(document_sha256) - set("0123456789abcdef")):
        errors["document_sha256"] = [_("A SHA-256 is 64 hexadecimal characters.")]
    supplier = Supplier.objects.filter(pk=supplier_id).first()
    if supplier is None:
        errors["supplier"] = [_("Choose a supplier from the list.")]
    if errors:
        raise InvalidInput(field_errors=errors)
    order = lock_order(order_id)
    check_transition(order, "add_quote")
    if order.quotes.filter(supplier=supplier).exists():
        raise InvalidInput(field_errors={"supplier": [_("This supplier already gave a quote for this order.")]})
    quote = Quote.objects.create(order=order, supplier=supplier, amount=amount, reference=(reference or "").strip(),
                                 document_sha256=document_sha256, created_by=actor)
    apply_transition(order, actor, "add_quote", payload={
        "quote": quote.pk, "supplier": supplier.pk, "amount": amount, "document_sha256": document_sha256,
    })
    return quote


def _order_limit():
    from core.input import parse_money

    return parse_money(settings.TAMKEEN_PURCHASE_ORDER_LIMIT, "TAMKEEN_PURCHASE_ORDER_LIMIT")


def _check_order_budget(order, amount):
    """The order fits the project's approved amount minus its other orders (locks held)."""
    project = order.project
    room = (project.approved_amount or 0) - orders_total(project, exclude_order_id=order.pk)
    if amount > room:
        raise BudgetExceeded([("order_over_approved", _(
            "The order (%(amount)s) exceeds what the project has left to order (%(room)s)."
        ) % {"amount": format_mad(amount), "room": format_mad(max(room, 0))})])


@service_transaction
def purchase_order_choose_quote(*, order_id, actor, quote_id, reason, justification="") -> PurchaseOrder:
    """Choose the quote a draft order will be issued on, with the reason. Finance officer.

    With fewer than three quotes from distinct suppliers a written ``justification`` is
    required (``guard_failed`` / ``quotes_insufficient`` otherwise). The chosen amount
    must be within the per-order limit (``guard_failed`` / ``order_over_limit``) and the
    project's remaining approved amount (``budget_exceeded`` / ``order_over_approved``).
    """
    check_permission(actor, PREPARE)
    reason = require_text(reason, "reason")
    justification = (justification or "").strip()
    order = lock_order(order_id)
    quote = order.quotes.select_related("supplier").filter(pk=quote_id).first()
    if quote is None:
        raise InvalidInput(field_errors={"quote": [_("Choose one of this order's quotes.")]})
    order.quote_justification = justification
    check_transition(order, "choose_quote")
    if quote.amount > _order_limit():
        raise GuardFailed([("order_over_limit", _(
            "A purchase order cannot exceed %(limit)s including tax: split the purchase."
        ) % {"limit": format_mad(_order_limit())})])
    _check_order_budget(order, quote.amount)
    order.chosen_quote, order.supplier, order.amount, order.choice_reason = quote, quote.supplier, quote.amount, reason
    return apply_transition(order, actor, "choose_quote", payload={
        "quote": quote.pk, "supplier": quote.supplier_id, "amount": quote.amount, "reason": reason,
        "quotes": order.quotes.count(), "justification": justification,
    }, fields=["chosen_quote", "supplier", "amount", "choice_reason", "quote_justification"])


# --- Purchase orders: issued → delivered → received -----------------------------------------


@service_transaction
def purchase_order_issue(*, order_id, actor) -> PurchaseOrder:
    """draft → issued. Finance officer. Needs a chosen quote, competition documented, the
    amount within the legal limit (guards) and within the project's approved amount
    minus its other issued orders (``budget_exceeded``), checked under the locks."""
    order = lock_order(order_id)
    check_permission(actor, "disbursements.issue_purchaseorder")
    check_transition(order, "issue")
    _check_order_budget(order, order.amount)
    order.issued_by, order.issued_at = actor, timezone.now()
    return apply_transition(order, actor, "issue", payload={
        "supplier": order.supplier_id, "amount": order.amount, "quote": order.chosen_quote_id,
    }, fields=["issued_by", "issued_at"])


@service_transaction
def purchase_order_deliver(*, order_id, actor, note="") -> PurchaseOrder:
    """issued → delivered: the supplier delivered the equipment. Program officer or mentor."""
    order = lock_order(order_id)
    order.delivered_by, order.delivered_at = actor, timezone.now()
    return apply_transition(order, actor, "deliver", payload={"note": (note or "").strip()},
                            fields=["delivered_by", "delivered_at"])


def _receipt(order):
    return ReceiptReport.objects.select_for_update().get_or_create(order=order)[0]


@service_transaction
def receipt_attach_scan(*, order_id, actor, uploaded_file) -> ReceiptReport:
    """Attach the scan of the paper receipt report signed by the beneficiary and the
    mentor: a PDF, JPEG or PNG by its content, an image re-encoded without its metadata
    (``core.uploads.accept_upload``), fingerprinted with the SHA-256 of the bytes stored.
    Program officer or mentor, once delivered. Raises ``InvalidInput`` with the upload's
    codes on ``scan``."""
    accepted = accept_upload(uploaded_file, field="scan")
    order = lock_order(order_id)
    check_permission(actor, "disbursements.receive_purchaseorder")
    check_transition(order, "attach_receipt_scan")
    receipt = _receipt(order)
    receipt.scan_sha256, receipt.scan_uploaded_by = accepted.sha256, actor
    receipt.scan.save(accepted.name, accepted.as_file(), save=False)
    receipt.save()
    apply_transition(order, actor, "attach_receipt_scan", payload={"sha256": receipt.scan_sha256})
    return receipt


@service_transaction
def receipt_confirm_mentor(*, order_id, actor) -> ReceiptReport:
    """The mentor signs the receipt report in the application, once. Mentor — the file's
    own mentor when one is assigned (``not_the_files_mentor``); not the person who
    witnessed the beneficiary's signature (``separation_of_duties``); a report the mentor
    already signed is not signed again (``receipt_already_signed``)."""
    order = lock_order(order_id)
    check_permission(actor, "disbursements.confirm_receipt")
    check_transition(order, "confirm_receipt")
    mentor_id = order.project.mentor_id
    if mentor_id is not None and mentor_id != actor.pk:
        raise PermissionDenied(_("Only the file's mentor signs its receipt report."), code="not_the_files_mentor")
    receipt = _receipt(order)
    if receipt.mentor_id is not None:
        raise TransitionNotAllowed(_("The mentor already signed this receipt report."),
                                   code="receipt_already_signed")
    if receipt.beneficiary_witness_id == actor.pk:
        raise SeparationOfDuties(_("You witnessed the beneficiary's signature; the mentor must be someone else."))
    receipt.mentor, receipt.mentor_signed_at = actor, timezone.now()
    receipt.save(update_fields=["mentor", "mentor_signed_at"])
    apply_transition(order, actor, "confirm_receipt", payload={"signed_as": "mentor"})
    return receipt


@service_transaction
def receipt_witness_beneficiary(*, order_id, actor, statement="") -> ReceiptReport:
    """Record the beneficiary's signature of the receipt report, made in front of the
    association agent who witnesses it (beneficiaries have no account), once. Association
    agent; not the mentor who signed (``separation_of_duties``); a signature already
    witnessed is not recorded again (``receipt_already_signed``)."""
    order = lock_order(order_id)
    check_permission(actor, "disbursements.witness_receipt")
    check_transition(order, "witness_receipt")
    receipt = _receipt(order)
    if receipt.beneficiary_witness_id is not None:
        raise TransitionNotAllowed(_("The beneficiary's signature is already witnessed on this receipt report."),
                                   code="receipt_already_signed")
    if receipt.mentor_id == actor.pk:
        raise SeparationOfDuties(_("You signed as the mentor; another person must witness the beneficiary."))
    statement = (statement or "").strip()
    receipt.beneficiary_witness, receipt.beneficiary_signed_at = actor, timezone.now()
    receipt.beneficiary_statement = statement
    receipt.save(update_fields=["beneficiary_witness", "beneficiary_signed_at", "beneficiary_statement"])
    apply_transition(order, actor, "witness_receipt", payload={"signed_as": "beneficiary", "statement": statement})
    return receipt


@service_transaction
def purchase_order_receive(*, order_id, actor) -> PurchaseOrder:
    """delivered → received. Program officer or mentor; needs the signed receipt report."""
    order = lock_order(order_id)
    receipt = ReceiptReport.objects.filter(order=order).first()
    order.received_by, order.received_at = actor, timezone.now()
    payload = {"receipt": None}
    if receipt is not None:
        payload = {"receipt": receipt.method, "sha256": receipt.scan_sha256,
                   "mentor": receipt.mentor_id, "witness": receipt.beneficiary_witness_id}
    return apply_transition(order, actor, "receive", payload=payload, fields=["received_by", "received_at"])


# --- The project equipped ------------------------------------------------------------------


@service_transaction
def project_confirm_equipment(*, project_id, actor) -> GrantProject:
    """funding → equipped. Program officer; needs at least one purchase order and every
    one received with a signed receipt report (``guard_failed``,
    ``orders_not_received``, naming the orders that hold the project back). The orders
    are read under the project row lock, which every order write takes too."""
    project = lock_project(project_id)
    return transition_project(project, actor, "equipment_received",
                              facts={EQUIPMENT: equipment_receipt(project)})
