"""The demo's money: purchase orders and tranches on the files past funding, through
the funding services only, three different people on every tranche (the finance
officer requests, the authorizing officer authorizes or rejects, the treasurer
releases with her password).

What each file holds, by its state (``expected_released`` says the same for the tests):

- equipped, launched, closed: its equipment order received and paid in full;
- in funding, in turn: (0) an order issued with its tranche requested, a second order
  whose quote is chosen, an earlier request cancelled; (1) an order delivered whose
  tranche is authorized and waits for the treasurer, a second order still collecting
  quotes, an earlier request rejected; (2) a first order received and paid, a second
  one issued with its tranche requested.

So every order state (draft, with a chosen quote, issued, delivered, received) and
every tranche state (requested, authorized, released, rejected, cancelled) is on
screen, and each role has work waiting.
"""

from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property

from django.db.models import Sum

from demo.scenarios import SCENARIO_SUPPLIER
from disbursements import services as funding
from disbursements.models import Disbursement, DisbursementState, OrderState, PurchaseOrder, Supplier
from workflow.models import ProjectState

S = ProjectState
ZERO = Decimal("0.00")
PAID_STATES = (S.EQUIPPED, S.LAUNCHED, S.CLOSED)
SECOND_SUPPLIER = "Matériel et Outillage de l'Oriental (fournisseur de démonstration)"
CANCEL_REASON = "Montant saisi en double ; la demande est refaite."
REJECT_REASON = "La facture du fournisseur n'est pas jointe à la demande."
SINGLE_SOURCE = "Fournisseur unique de cet équipement dans la province."


@dataclass
class Treasury:
    """The three people of every tranche and the treasurer's password (the step-up)."""

    finance: object
    authorizer: object
    treasurer: object
    password: str

    @cached_property
    def can_release(self) -> bool:
        """Whether the treasurer still has the demo password (hashed once per run)."""
        return self.treasurer.check_password(self.password)


def expected_released(project) -> Decimal:
    """What the demo has paid on a file: its received orders, once in funding or later."""
    if project.state not in (S.FUNDING, *PAID_STATES):
        return ZERO
    received = PurchaseOrder.objects.filter(project=project, state=OrderState.RECEIVED)
    return received.aggregate(total=Sum("amount"))["total"] or ZERO


def released_on(project) -> Decimal:
    released = Disbursement.objects.filter(project=project, state=DisbursementState.RELEASED)
    return released.aggregate(total=Sum("amount"))["total"] or ZERO


def _supplier(name, finance):
    return Supplier.objects.filter(name=name).first() or funding.supplier_create(
        actor=finance, name=name, city="Nador")


def _order(project, cast, description, amount, *, choose=True, issue=True):
    """A draft order with one quote (of the scenarios' supplier), chosen and issued
    unless told otherwise."""
    finance = cast.finance
    order = funding.purchase_order_create(project_id=project.pk, actor=finance, description=description)
    quote = funding.quote_add(order_id=order.pk, actor=finance,
                              supplier_id=_supplier(SCENARIO_SUPPLIER, finance).pk, amount=amount)
    if choose:
        funding.purchase_order_choose_quote(order_id=order.pk, actor=finance, quote_id=quote.pk,
                                            reason="Seul devis recevable.", justification=SINGLE_SOURCE)
    if issue:
        funding.purchase_order_issue(order_id=order.pk, actor=finance)
    return PurchaseOrder.objects.get(pk=order.pk)


def _request(project, order, treasury, amount=None, purpose="Paiement du fournisseur"):
    return funding.disbursement_request(
        project_id=project.pk, actor=treasury.finance, amount=amount or order.amount,
        purchase_order_id=order.pk, purpose=f"{purpose} — {order.reference}")


def _authorize(disbursement, treasury):
    return funding.disbursement_authorize(disbursement_id=disbursement.pk, actor=treasury.authorizer,
                                          note="Pièces vérifiées.")


def _pay(project, order, treasury):
    """Request, authorize and release a tranche paying ``order`` in full. Without the
    demo password (the treasurer changed hers), the tranche stays authorized."""
    tranche = _authorize(_request(project, order, treasury), treasury)
    if not treasury.can_release:
        return tranche
    return funding.disbursement_release(
        disbursement_id=tranche.pk, actor=treasury.treasurer, password=treasury.password,
        payment_reference=f"OV-{tranche.reference}", idempotency_key=f"seed-demo:{tranche.reference}")


def pay_equipment(project, cast, treasury):
    """An equipped file's received orders, each paid in full (once: an order already
    paid or with a tranche on the way is left). Returns how many were paid."""
    paid = 0
    for order in PurchaseOrder.objects.filter(project=project, state=OrderState.RECEIVED).order_by("pk"):
        if order.disbursements.exclude(state__in=(DisbursementState.REJECTED, DisbursementState.CANCELLED)).exists():
            continue
        _pay(project, order, treasury)
        paid += 1
    return paid


def _halves(amount):
    first = (amount * Decimal("0.6")).quantize(Decimal("1")).quantize(ZERO)
    return first, amount - first


def stage_funding(project, cast, treasury, turn):
    """Orders and tranches of a file in funding, by ``turn`` (see the module's docstring)."""
    first, second = _halves(project.approved_amount)
    if turn == 0:
        order = _order(project, cast, f"Équipement principal : {project.title}", first)
        early = _request(project, order, treasury, purpose="Acompte")
        funding.disbursement_cancel(disbursement_id=early.pk, actor=treasury.finance, reason=CANCEL_REASON)
        _request(project, order, treasury)
        _order(project, cast, "Petit matériel et consommables", second, issue=False)
    elif turn == 1:
        order = _order(project, cast, f"Équipement principal : {project.title}", first)
        funding.purchase_order_deliver(order_id=order.pk, actor=cast.mentor, note="Livré au local.")
        early = _request(project, order, treasury, purpose="Acompte")
        funding.disbursement_reject(disbursement_id=early.pk, actor=treasury.authorizer, reason=REJECT_REASON)
        _authorize(_request(project, order, treasury), treasury)
        _order(project, cast, "Petit matériel et consommables", second, choose=False, issue=False)
    else:
        order = _order(project, cast, f"Équipement principal : {project.title}", first)
        # The second order is issued before the first is received: the file then waits
        # for it, rather than for the program officer's equipment check.
        last = _order(project, cast, "Petit matériel et consommables", second)
        funding.purchase_order_deliver(order_id=order.pk, actor=cast.mentor, note="Livré au local.")
        funding.receipt_confirm_mentor(order_id=order.pk, actor=cast.mentor)
        funding.receipt_witness_beneficiary(order_id=order.pk, actor=cast.agent)
        funding.purchase_order_receive(order_id=order.pk, actor=cast.mentor)
        _pay(project, PurchaseOrder.objects.get(pk=order.pk), treasury)
        _request(project, last, treasury)
