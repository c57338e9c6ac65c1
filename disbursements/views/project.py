"""A project's funding page (balance, plan, orders, tranches; requesting a tranche, giving a
withdrawn file's commitment back)."""

from django.contrib.auth.mixins import PermissionRequiredMixin
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _
from django.views import generic

from core.views import ServiceFormMixin
from disbursements import services
from disbursements.forms import DecommitForm, DisbursementRequestForm
from disbursements.models import OrderState, ReceiptReport
from disbursements.selectors import project_funding_summary
from disbursements.services._common import PAYING_STATES
from disbursements.views.access import DECOMMIT, REQUEST, VIEW, can_export_payments
from workflow.models import GrantProject, ProjectState


def _receipt_status(order, receipt):
    if order.state == OrderState.RECEIVED:
        return _("Received")
    if receipt is None:
        return _("No receipt report yet")
    if receipt.is_signed:
        return _("Receipt report signed, awaiting reception")
    return _("Receipt report awaiting signatures")


class ProjectFundingView(PermissionRequiredMixin, ServiceFormMixin, generic.TemplateView):
    """Plan, quotes, orders, disbursements and balance of one project; finance officers
    request a tranche from here."""

    permission_required = VIEW
    template_name = "disbursements/project.html"
    form_context_name = "request_form"
    success_message = _("Disbursement requested: it now waits for an authorizing officer.")

    @cached_property
    def project(self):
        # Read after the permission check: no 404/403 difference leaks to outsiders.
        return get_object_or_404(GrantProject.objects.select_related("program", "beneficiary"), pk=self.kwargs["pk"])

    def get_bound_form(self):
        if not self.request.user.has_perm(REQUEST):
            raise PermissionDenied(_("Only finance officers request disbursements."))
        return DisbursementRequestForm(self.request.POST, project=self.project)

    def call_service(self, form):
        data = form.cleaned_data
        order = data["purchase_order"]
        services.disbursement_request(
            project_id=self.project.pk, actor=self.request.user, amount=data["amount"],
            purchase_order_id=order.pk if order else None, purpose=data["purpose"],
            idempotency_key=data["idempotency_key"],
        )

    def get_success_url(self):
        return reverse("funding:project", args=[self.project.pk])

    def get_context_data(self, **kwargs):
        summary = project_funding_summary(self.project)
        receipts = {r.order_id: r for r in ReceiptReport.objects.filter(order__project_id=self.project.pk)}
        orders = []
        for order in summary.orders:
            quotes = list(order.quotes.all())
            receipt = receipts.get(order.pk)
            orders.append({
                "order": order, "quotes": quotes, "receipt": receipt,
                "receipt_status": _receipt_status(order, receipt),
                "needs_justification": len(quotes) < 3,
            })
        can_request = self.request.user.has_perm(REQUEST) and self.project.state in PAYING_STATES
        if can_request:
            kwargs.setdefault("request_form", DisbursementRequestForm(project=self.project))
        # A withdrawn project's unreleased commitment, which a finance officer gives back.
        give_back = summary.committed - summary.released if self.project.state == ProjectState.WITHDRAWN else 0
        can_decommit = give_back > 0 and self.request.user.has_perm(DECOMMIT)
        if can_decommit:
            kwargs.setdefault("decommit_form", DecommitForm())
        return super().get_context_data(
            project=self.project, summary=summary, orders=orders, can_request=can_request,
            give_back=give_back, can_decommit=can_decommit,
            can_export=can_export_payments(self.request.user), **kwargs,
        )


class DecommitView(ProjectFundingView):
    """POST: give a withdrawn project's unreleased commitment back to the envelope."""

    form_context_name = "decommit_form"
    success_message = _("The commitment was given back to the program's envelope.")

    def get_bound_form(self):
        if not self.request.user.has_perm(DECOMMIT):
            raise PermissionDenied(_("Only finance officers give commitments back."))
        return DecommitForm(self.request.POST)

    def call_service(self, form):
        services.envelope_decommit(project_id=self.project.pk, actor=self.request.user,
                                   reason=form.cleaned_data["reason"])

    def get(self, request, *args, **kwargs):
        return redirect("funding:project", self.project.pk)
