"""Row locks for funding, always in one order:

    program (envelope) → project → purchase order → disbursement

Every path that moves money takes the program row first, so two treasurers releasing
tranches of the same program queue there and each sees the other's committed release
events before checking the balances. Locks reuse ``workflow.locks`` for the first two.
On SQLite ``select_for_update`` is a no-op and IMMEDIATE transactions serialise writers.
"""

from core.exceptions import NotFound
from disbursements.models import Disbursement, PurchaseOrder
from workflow.locks import lock_project_with_program

# Program (envelope) first, then the project: the order of workflow.locks.
lock_funding_project = lock_project_with_program


def lock_order_row(order_id) -> PurchaseOrder:
    try:
        return PurchaseOrder.objects.select_for_update(of=("self",)).get(pk=order_id)
    except PurchaseOrder.DoesNotExist:
        raise NotFound() from None


def lock_order(order_id) -> PurchaseOrder:
    """Lock program → project → order; the order comes back with its project attached."""
    project_id = PurchaseOrder.objects.filter(pk=order_id).values_list("project_id", flat=True).first()
    if project_id is None:
        raise NotFound()
    project = lock_funding_project(project_id)
    order = lock_order_row(order_id)
    order.project = project
    return order


def lock_disbursement(disbursement_id) -> Disbursement:
    """Lock program → project → (order) → disbursement, linked together."""
    row = Disbursement.objects.filter(pk=disbursement_id).values("project_id", "purchase_order_id").first()
    if row is None:
        raise NotFound()
    project = lock_funding_project(row["project_id"])
    order = lock_order_row(row["purchase_order_id"]) if row["purchase_order_id"] else None
    try:
        disbursement = Disbursement.objects.select_for_update(of=("self",)).get(pk=disbursement_id)
    except Disbursement.DoesNotExist:
        raise NotFound() from None
    disbursement.project = project
    if order is not None:
        order.project = project
        disbursement.purchase_order = order
    return disbursement
