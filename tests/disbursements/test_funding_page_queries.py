"""A file's funding pages (issue 16) cost the same queries whatever the number of its
purchase orders, quotes and tranches: its funding page, its orders, its equipment plan.

The file reaches funding through the services; its extra orders (with their quotes),
plan lines and tranches are then written directly (read-only measures)."""

from decimal import Decimal
from itertools import count

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from core.roles import Role
from disbursements.models import Disbursement, EquipmentItem, PurchaseOrder, Quote, Supplier

pytestmark = pytest.mark.django_db
SMALL, LARGE = 2, 30
_serial = count(1)


def queries(client, url) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return len(captured.captured_queries), response.content.decode()


@pytest.fixture
def funded(make_project, make_user, cast):
    project = make_project("funding", amount="60000.00")
    authorizer, treasurer = make_user(Role.AUTHORIZING_OFFICER), make_user(Role.TREASURER)
    suppliers = Supplier.objects.bulk_create([
        Supplier(name=f"Fournisseur {next(_serial)}", created_by=cast.finance) for _ in range(3)])

    def grow(n):
        orders = PurchaseOrder.objects.bulk_create([
            PurchaseOrder(project=project, description=f"Machine à coudre {next(_serial)}", created_by=cast.finance)
            for _ in range(n)
        ])
        Quote.objects.bulk_create([
            Quote(order=order, supplier=supplier, amount=Decimal("1000.00") + k, created_by=cast.finance)
            for order in orders for k, supplier in enumerate(suppliers)
        ])
        EquipmentItem.objects.bulk_create([
            EquipmentItem(project=project, description=f"Table {next(_serial)}", quantity=2,
                          unit_price=Decimal("150.00"), created_by=cast.finance)
            for _ in range(n)
        ])
        now = timezone.now()
        Disbursement.objects.bulk_create([
            Disbursement(project=project, amount=Decimal("10.00"), purpose="Tranche.", requested_by=cast.finance,
                         state="authorized" if i % 2 else "requested",
                         authorized_by=authorizer if i % 2 else None, authorized_at=now if i % 2 else None)
            for i in range(n)
        ])

    return project, grow, {"finance": cast.finance, "authorizer": authorizer, "treasurer": treasurer}


@pytest.mark.parametrize(("page", "who"), [
    ("project", "finance"), ("project", "authorizer"), ("project", "treasurer"), ("orders", "finance"),
    ("plan", "finance"),
])
def test_the_funding_pages_do_not_grow_with_orders_and_tranches(client, funded, page, who):
    project, grow, people = funded
    client.force_login(people[who])
    url = reverse(f"funding:{page}", args=[project.pk])
    grow(SMALL)
    client.get(url)  # warm the per-process caches
    small, _ = queries(client, url)
    grow(LARGE - SMALL)
    large, html = queries(client, url)
    assert small == large, f"{page} as {who}: {small} queries with {SMALL} orders and tranches, {large} with {LARGE}"
    shown = "Table" if page == "plan" else "Machine à coudre"
    assert html.count(shown) >= LARGE
    if page == "orders":
        # Every registered supplier quoted each order: the reasons read once for the page say so.
        assert html.count("No supplier is left to quote for this order") == LARGE
