"""What the funding screens share: a page for one step on a project or on a purchase order
(``core.views.ServiceFormView`` behind the role's permission), and the rows that show an
order with its quotes, its receipt report and its actions."""

from contextlib import contextmanager

from django.contrib.auth.mixins import PermissionRequiredMixin
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.translation import gettext as _

from core.actions import named
from core.exceptions import GuardFailed
from core.views import ServiceFormView
from disbursements import selectors
from disbursements.actions import STEPS, order_actions
from disbursements.models import OrderState, PurchaseOrder
from ledger.transitions import transition_permission
from workflow.models import GrantProject


@contextmanager
def guard_errors_on(fields: dict):
    """Show the unmet rules of a ``GuardFailed`` on the fields they concern (``{rule code:
    field name}``), e.g. the missing quotes' rule on the justification that stands in for
    them; the other rules stay above the form."""
    try:
        yield
    except GuardFailed as error:
        placed, others = {}, []
        for code, message in error.failures:
            if code in fields:
                placed.setdefault(fields[code], []).append(message)
            else:
                others.append(message)
        if placed:
            error.field_errors = {**placed, **({"__all__": others} if others else {})}
        raise


class StepScreen(PermissionRequiredMixin, ServiceFormView):
    """A screen for the step ``step`` of ``disbursements.actions.STEPS``: its title, its
    confirmation sentence and its danger are the ones the action buttons show."""

    step = ""

    @property
    def title(self):
        return STEPS[self.step].label

    @property
    def confirm(self):
        return STEPS[self.step].confirm

    @property
    def danger(self):
        return STEPS[self.step].danger


class ProjectScreen(StepScreen):
    """One funding step on a project (``kwargs["pk"]``)."""

    @cached_property
    def project(self):
        # Read after the permission check: no 404/403 difference leaks to outsiders.
        return get_object_or_404(GrantProject.objects.select_related("program", "beneficiary"), pk=self.kwargs["pk"])

    def get_subject(self):
        return f"{self.project.reference} — {self.project.title}"

    def get_back_url(self):
        return reverse("projects:detail", args=[self.project.pk])


class OrderScreen(StepScreen):
    """One step of a purchase order (``kwargs["pk"]``), by the roles holding its transition's
    permission; the order is shown beside the form."""

    template_name = "disbursements/order_action.html"

    def get_permission_required(self):
        return (transition_permission(PurchaseOrder, self.step),)

    @cached_property
    def order(self):
        order = selectors.purchase_order(self.kwargs["pk"])
        if order is None:
            raise Http404
        return order

    def get_subject(self):
        project = self.order.project
        return f"{self.order.reference} — {project.reference} {project.title}"

    def get_back_url(self):
        return reverse("funding:orders", args=[self.order.project_id]) + f"#order-{self.order.pk}"

    def get_success_message(self, result):
        return self.success_message % {"reference": self.order.reference}

    def get_unavailable_reason(self):
        action = named(order_actions(self.order, self.request.user), self.step)
        if action is None:
            return _("This step is not open while the order is %(state)s.") % {
                "state": self.order.get_state_display()}
        return action.reason

    def get_context_data(self, **kwargs):
        (row,) = order_rows(self.order.project, [self.order])
        return super().get_context_data(order_row=row, **kwargs)


def receipt_status(order, receipt) -> str:
    if order.state == OrderState.RECEIVED:
        return _("Received")
    if receipt is None:
        return _("No receipt report yet")
    if receipt.is_signed:
        return _("Receipt report signed, awaiting reception")
    return _("Receipt report awaiting signatures")


def order_rows(project, orders, user=None) -> list[dict]:
    """Each order of ``project`` with its quotes, its receipt report and its status, and —
    given ``user`` — what ``user`` may do on it (``disbursements.actions.order_actions``).
    ``orders`` come with their quotes prefetched (``selectors.project_orders``): the page
    costs the same queries whatever their number."""
    receipts = selectors.receipts_by_order(orders)
    # Read once for the page rather than once per draft order (its steps' preconditions).
    drafts = user is not None and any(order.state == OrderState.DRAFT for order in orders)
    supplier_count = selectors.suppliers().count() if drafts else None
    ordered = selectors.orders_total(project) if drafts else None
    rows = []
    for order in orders:
        order.project = project
        quotes = list(order.quotes.all())
        receipt = receipts.get(order.pk)
        rows.append({
            "order": order, "quotes": quotes, "receipt": receipt, "receipt_status": receipt_status(order, receipt),
            "needs_justification": len(quotes) < 3,
            "actions": order_actions(order, user, receipt=receipt, supplier_count=supplier_count,
                                     ordered=ordered) if user is not None else [],
        })
    return rows
