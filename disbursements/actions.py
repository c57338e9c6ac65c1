"""What a person may do now on a purchase order, a disbursement, and a file in funding.

``order_actions`` and ``disbursement_actions`` start from the state machines
(``ledger.transitions.transition_options``: the transitions leaving the current state,
another role's left out) and add what the services check beyond them — a quote to
choose, a supplier left to quote, the project's room for an order, a signature already
given, separation of duties — so a page offers a step only when the service would take
it, and otherwise says why. ``project_funding_actions`` is what funding adds to a file's
page (``workflow.actions.register``, from ``DisbursementsConfig.ready``).

The screens take their titles and confirmation sentences from ``STEPS`` too, so the
button a page shows and the form it opens say the same thing.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import urlencode

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.actions import Action
from core.exceptions import PermissionDenied, SeparationOfDuties
from core.money import format_mad
from disbursements.models import Disbursement, OrderState, PurchaseOrder
from disbursements.selectors import (
    equipment_receipt,
    orders_total,
    receipts_by_order,
    suppliers_to_quote,
)
from disbursements.services._common import PAYING_STATES, PLANNING_STATES
from ledger.transitions import transition_options, transition_permission
from workflow.facts import EQUIPMENT
from workflow.models import GrantProject, ProjectState

PLAN = "disbursements.plan_equipment"
PREPARE = "disbursements.prepare_purchaseorder"
VIEW_FUNDING = "disbursements.view_disbursement"
VIEW_ORDERS = "disbursements.view_purchaseorder"
ADD_SUPPLIER = "disbursements.add_supplier"
EQUIPPED = "equipment_received"


@dataclass(frozen=True)
class Step:
    """A step's label, the URL name of its screen, the sentence it asks to confirm."""

    label: object
    url_name: str
    confirm: object = ""
    danger: bool = False
    stepup: bool = False


STEPS = {
    # A purchase order: draft → issued → delivered → received.
    "add_quote": Step(gettext_lazy("Add a quote"), "funding:quote_add"),
    "choose_quote": Step(gettext_lazy("Choose the quote"), "funding:order_choose"),
    "issue": Step(gettext_lazy("Issue the purchase order"), "funding:order_issue", confirm=gettext_lazy(
        "I confirm: the order goes to the supplier and spends the project's money; it cannot be withdrawn.")),
    "deliver": Step(gettext_lazy("Record the delivery"), "funding:order_deliver", confirm=gettext_lazy(
        "I confirm that the supplier delivered this order.")),
    "attach_receipt_scan": Step(gettext_lazy("Attach the signed receipt report"), "funding:receipt_scan"),
    "confirm_receipt": Step(gettext_lazy("Sign the receipt report as mentor"), "funding:receipt_confirm",
                            confirm=gettext_lazy("I sign the receipt report: the equipment was delivered as ordered.")),
    "witness_receipt": Step(gettext_lazy("Witness the beneficiary's signature"), "funding:receipt_witness",
                            confirm=gettext_lazy("The beneficiary signed the receipt report in front of me.")),
    "receive": Step(gettext_lazy("Record the order as received"), "funding:order_receive", confirm=gettext_lazy(
        "I confirm the reception: the order is closed and cannot be reopened.")),
    # A disbursement. Authorizing, rejecting and releasing are rows of the finance tray.
    "authorize": Step(gettext_lazy("Authorize"), "funding:index"),
    "reject": Step(gettext_lazy("Reject"), "funding:index", danger=True),
    "release": Step(gettext_lazy("Release the funds"), "funding:index", stepup=True),
    "cancel": Step(gettext_lazy("Cancel the request"), "funding:disbursement_cancel", danger=True,
                   confirm=gettext_lazy("I confirm: the request is cancelled and cannot be taken up again.")),
    # A file in funding.
    "equipment_plan": Step(gettext_lazy("Equipment plan"), "funding:plan"),
    "funding": Step(gettext_lazy("Funding"), "funding:project"),
    "purchase_orders": Step(gettext_lazy("Purchase orders"), "funding:orders"),
    "create_order": Step(gettext_lazy("New purchase order"), "funding:order_create"),
    EQUIPPED: Step(gettext_lazy("Confirm equipment"), "funding:confirm_equipment", confirm=gettext_lazy(
        "I confirm that every purchase order was received: the file moves on to its launch.")),
}

ORDER_STEPS = ("add_quote", "choose_quote", "issue", "deliver", "attach_receipt_scan", "confirm_receipt",
               "witness_receipt", "receive")
DISBURSEMENT_STEPS = ("authorize", "reject", "release", "cancel")


def _action(name, url, reason="", label=None) -> Action:
    step = STEPS[name]
    return Action(name=name, label=str(label or step.label), url=url, reason=reason, confirm=str(step.confirm),
                  stepup=step.stepup, danger=step.danger)


def _why(error) -> str:
    """A refusal as one sentence: every unmet guard, or the error's message."""
    if not error:
        return ""
    failures = getattr(error, "failures", None)
    if failures:
        return " ".join(message for _code, message in failures)
    return str(error.message)


def _another_role(error) -> bool:
    return isinstance(error, PermissionDenied) and not isinstance(error, SeparationOfDuties)


def _person(user) -> str:
    return user.get_full_name() or user.get_username()


# --- Purchase orders ---------------------------------------------------------------------------


_UNREAD = object()


@dataclass(frozen=True)
class _OrderFacts:
    """What the preconditions of an order's steps read beyond the order: its receipt
    report, and — when a page of orders read them once for all — how many suppliers are
    registered and what the project's issued orders spend (None: read them here)."""

    receipt: object
    supplier_count: int | None = None
    ordered: Decimal | None = None


def order_actions(order: PurchaseOrder, user, *, receipt=_UNREAD, supplier_count: int | None = None,
                  ordered: Decimal | None = None) -> list[Action]:
    """The steps of ``order`` that ``user``'s roles take from its current state: available,
    or with the reason the service would refuse them now. ``receipt`` (the order's
    receipt report, or ``None`` when it has none) saves a query when the caller read it;
    so do ``supplier_count`` (the registered suppliers, with the order's quotes
    prefetched) and ``ordered`` (``orders_total`` of the order's project), which a page
    listing many orders reads once."""
    options = transition_options(order, user, ORDER_STEPS)
    if receipt is _UNREAD:
        receipt = receipts_by_order([order]).get(order.pk) if order.state == OrderState.DELIVERED else None
    facts = _OrderFacts(receipt=receipt, supplier_count=supplier_count, ordered=ordered)
    actions = []
    for name, error in options.items():
        if _another_role(error):
            continue
        label = None
        if name == "attach_receipt_scan" and receipt is not None and receipt.scan_sha256:
            label = _("Replace the signed receipt report")
        reason = _why(error) if name not in _ORDER_PRECONDITIONS else _ORDER_PRECONDITIONS[name](
            order, user, error, facts)
        actions.append(_action(name, reverse(STEPS[name].url_name, args=[order.pk]), reason, label))
    return actions


def _add_quote(order, user, error, facts) -> str:
    if error:
        return _why(error)
    if facts.supplier_count is not None:
        # Quotes prefetched: a supplier is left when fewer have quoted than are registered.
        left = facts.supplier_count > len({quote.supplier_id for quote in order.quotes.all()})
    else:
        left = suppliers_to_quote(order).exists()
    if not left:
        return _("No supplier is left to quote for this order: register one in the suppliers list.")
    return ""


def _choose_quote(order, user, error, facts) -> str:
    # Fewer than three quotes is not a refusal here: the choice's form takes the written
    # justification that stands in for the missing ones.
    if error and [code for code, _m in getattr(error, "failures", [])] != ["quotes_insufficient"]:
        return _why(error)
    if not order.quotes.exists():
        return _("No quote yet.")
    return ""


def _issue(order, user, error, facts) -> str:
    if error:
        return _why(error)
    project = order.project
    # A draft order is not among the spending ones: the page's total holds no part of it.
    ordered = facts.ordered if facts.ordered is not None else orders_total(project, exclude_order_id=order.pk)
    room = (project.approved_amount or 0) - ordered
    if order.amount > room:
        return _("The order (%(amount)s) exceeds what the project has left to order (%(room)s).") % {
            "amount": format_mad(order.amount), "room": format_mad(max(room, 0))}
    return ""


def _confirm_receipt(order, user, error, facts) -> str:
    receipt = facts.receipt
    if error:
        return _why(error)
    if receipt is not None and receipt.mentor_id is not None:
        return _("Signed by the mentor %(name)s.") % {"name": _person(receipt.mentor)}
    mentor = order.project.mentor
    if mentor is not None and mentor.pk != user.pk:
        return _("Only the file's mentor, %(name)s, signs its receipt report.") % {"name": _person(mentor)}
    if receipt is not None and receipt.beneficiary_witness_id == user.pk:
        return _("You witnessed the beneficiary's signature; the mentor must be someone else.")
    return ""


def _witness_receipt(order, user, error, facts) -> str:
    receipt = facts.receipt
    if error:
        return _why(error)
    if receipt is not None and receipt.beneficiary_witness_id is not None:
        return _("The beneficiary's signature was witnessed by %(name)s.") % {
            "name": _person(receipt.beneficiary_witness)}
    if receipt is not None and receipt.mentor_id == user.pk:
        return _("You signed as the mentor; another person must witness the beneficiary.")
    return ""


def _receive(order, user, error, facts) -> str:
    if error:
        return _("Attach the signed scan of the receipt report, or have the mentor and the beneficiary "
                 "(in front of the association agent) sign it first.")
    return ""


_ORDER_PRECONDITIONS = {
    "add_quote": _add_quote, "choose_quote": _choose_quote, "issue": _issue,
    "confirm_receipt": _confirm_receipt, "witness_receipt": _witness_receipt, "receive": _receive,
}


# --- Disbursements -----------------------------------------------------------------------------


def disbursement_actions(disbursement: Disbursement, user) -> list[Action]:
    """The steps of ``disbursement`` that ``user``'s roles take from its current state, with
    separation of duties: the requester does not authorize or reject, the authorizer does
    not release or cancel, the requester does not release either. Authorizing, rejecting
    and releasing open the finance tray on this disbursement; cancelling has its screen."""
    options = transition_options(disbursement, user, DISBURSEMENT_STEPS)
    actions = []
    for name, error in options.items():
        if _another_role(error):
            continue
        reason = _why(error) or _duty_conflict(disbursement, user, name) or _project_not_paying(disbursement, name)
        if name == "cancel":
            url = reverse(STEPS[name].url_name, args=[disbursement.pk])
        else:
            url = f"{reverse(STEPS[name].url_name)}?{urlencode({'q': disbursement.reference})}"
        actions.append(_action(name, url, reason))
    return actions


def _duty_conflict(disbursement, user, name) -> str:
    if name in ("authorize", "reject") and disbursement.requested_by_id == user.pk:
        return _("You requested it: another person authorizes it.")
    if name == "release" and user.pk in (disbursement.requested_by_id, disbursement.authorized_by_id):
        return _("You already took another step of it: another person releases it.")
    if name == "cancel" and disbursement.authorized_by_id == user.pk:
        return _("You authorized it: another person cancels it.")
    return ""


def _project_not_paying(disbursement, name) -> str:
    project = disbursement.project
    if name == "release" and project.state not in PAYING_STATES:
        return _("Funds are not released while the file is %(state)s.") % {"state": project.get_state_display()}
    return ""


# --- A file in funding --------------------------------------------------------------------------


def confirm_equipment_action(project, user) -> Action | None:
    """The ``equipment_received`` step of a file in funding, for the roles that take it:
    available once every order is received with a signed receipt report, else naming the
    orders that hold it back."""
    if project.state != ProjectState.FUNDING or not user.has_perm(transition_permission(GrantProject, EQUIPPED)):
        return None
    options = transition_options(project, user, [EQUIPPED], facts={EQUIPMENT: equipment_receipt(project)})
    if EQUIPPED not in options or _another_role(options[EQUIPPED]):
        return None
    return _action(EQUIPPED, reverse(STEPS[EQUIPPED].url_name, args=[project.pk]), _why(options[EQUIPPED]))


def _plan_action(project, user) -> Action | None:
    if user.has_perm(PLAN) and project.state in PLANNING_STATES:
        return _action("equipment_plan", reverse(STEPS["equipment_plan"].url_name, args=[project.pk]))
    return None


def create_order_action(project, user) -> Action | None:
    """A new purchase order: from funding on, for finance officers; before it, said why."""
    if not user.has_perm(PREPARE) or project.state not in PLANNING_STATES:
        return None
    reason = "" if project.state == ProjectState.FUNDING else _(
        "Purchase orders are prepared once the file is in funding.")
    return _action("create_order", reverse(STEPS["create_order"].url_name, args=[project.pk]), reason)


def project_funding_actions(project, user) -> list[Action]:
    """What funding offers on a file's page: its equipment plan (while it is planned), its
    funding page (money readers) or its purchase orders (the others who take an order's
    steps), and the confirmation that the equipment is received."""
    actions = [_plan_action(project, user)]
    if user.has_perm(VIEW_FUNDING) and project.approved_amount is not None:
        actions.append(_action("funding", reverse(STEPS["funding"].url_name, args=[project.pk])))
    elif user.has_perm(VIEW_ORDERS) and (
            project.state == ProjectState.FUNDING or project.purchase_orders.exists()):
        actions.append(_action("purchase_orders", reverse(STEPS["purchase_orders"].url_name, args=[project.pk])))
    actions.append(confirm_equipment_action(project, user))
    return [action for action in actions if action is not None]


def procurement_page_actions(project, user) -> list[Action]:
    """The actions of a project's funding and purchase orders pages: the equipment plan, a
    new order, the equipment's confirmation."""
    actions = [_plan_action(project, user), create_order_action(project, user),
               confirm_equipment_action(project, user)]
    return [action for action in actions if action is not None]
