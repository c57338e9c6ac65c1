"""Fixtures of the funding tests: the three money roles, one person each, and purchase
orders brought to a state through the services."""

from itertools import count

import pytest

from core.roles import Role


@pytest.fixture
def people(make_user, cast):
    return {
        "finance": cast.finance,
        "authorizer": make_user(Role.AUTHORIZING_OFFICER, username="ordonnateur"),
        "treasurer": make_user(Role.TREASURER, username="comptable"),
    }


ORDER_STATES = ("draft", "chosen", "issued", "delivered", "received")


@pytest.fixture
def make_order(cast):
    """make_order(project, state="draft", quotes=3, amounts=...) through the services:
    ``chosen`` is a draft whose cheapest quote is chosen (with a justification below three
    quotes); ``received`` has its receipt report signed by the mentor and the witnessed
    beneficiary."""
    from disbursements import services as funding
    from disbursements.models import PurchaseOrder

    made = count(1)

    def make(project, state="draft", *, quotes=3, amounts=("30000.00", "31000.00", "32000.00")):
        finance = cast.finance
        order = funding.purchase_order_create(project_id=project.pk, actor=finance, description="Machines")
        for amount in amounts[:quotes]:
            supplier = funding.supplier_create(actor=finance, name=f"Fournisseur {order.pk}-{next(made)}")
            funding.quote_add(order_id=order.pk, actor=finance, supplier_id=supplier.pk, amount=amount)
        step = ORDER_STATES.index(state)
        if step >= 1:
            cheapest = order.quotes.order_by("amount").first()
            funding.purchase_order_choose_quote(
                order_id=order.pk, actor=finance, quote_id=cheapest.pk, reason="Moins-disant.",
                justification="" if quotes >= 3 else "Fournisseur unique dans la province.")
        if step >= 2:
            funding.purchase_order_issue(order_id=order.pk, actor=finance)
        if step >= 3:
            funding.purchase_order_deliver(order_id=order.pk, actor=cast.officer)
        if step >= 4:
            funding.receipt_confirm_mentor(order_id=order.pk, actor=cast.mentor)
            funding.receipt_witness_beneficiary(order_id=order.pk, actor=cast.agent)
            funding.purchase_order_receive(order_id=order.pk, actor=cast.officer)
        return PurchaseOrder.objects.get(pk=order.pk)

    return make
