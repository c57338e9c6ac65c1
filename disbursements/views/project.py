"""A project's funding pages: its funding page (balance, plan, orders, tranches; requesting a
tranche, giving a withdrawn file's commitment back), its purchase orders, its equipment
plan, a new order, and the confirmation that the equipment is received."""

from django import forms
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import generic

from core.views import ServiceFormMixin
from disbursements import selectors, services
from disbursements.actions import (
    EQUIPPED,
    confirm_equipment_action,
    create_order_action,
    disbursement_actions,
    procurement_page_actions,
)
from disbursements.forms import DecommitForm, DisbursementRequestForm, EquipmentItemForm, PurchaseOrderForm
from disbursements.services._common import PAYING_STATES, PLANNING_STATES
from disbursements.views.access import (
    DECOMMIT,
    PLAN,
    PREPARE,
    REQUEST,
    VIEW,
    VIEW_ORDERS,
    can_export_payments,
)
from disbursements.views.screens import ProjectScreen, order_rows
from ledger.transitions import transition_permission
from workflow.models import GrantProject, ProjectState


class ProjectFundingView(PermissionRequiredMixin, ServiceFormMixin, generic.TemplateView):
    """Plan, quotes, orders, disbursements and balance of one project, with what the user
    may do on each order and tranche; finance officers request a tranche from here."""

    permission_required = VIEW
    template_name = "disbursements/project.html"
    form_context_name = "request_form"
    success_message = gettext_lazy("Disbursement requested: it now waits for an authorizing officer.")

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
        user = self.request.user
        summary = selectors.project_funding_summary(self.project)
        for disbursement in summary.disbursements:
            disbursement.project = self.project
        can_request = user.has_perm(REQUEST) and self.project.state in PAYING_STATES
        if can_request:
            kwargs.setdefault("request_form", DisbursementRequestForm(project=self.project))
        # A withdrawn project's unreleased commitment, which a finance officer gives back.
        give_back = summary.committed - summary.released if self.project.state == ProjectState.WITHDRAWN else 0
        can_decommit = give_back > 0 and user.has_perm(DECOMMIT)
        if can_decommit:
            kwargs.setdefault("decommit_form", DecommitForm())
        return super().get_context_data(
            project=self.project, summary=summary, orders=order_rows(self.project, summary.orders, user),
            disbursements=[(d, disbursement_actions(d, user)) for d in summary.disbursements],
            actions=procurement_page_actions(self.project, user), can_request=can_request,
            give_back=give_back, can_decommit=can_decommit, can_export=can_export_payments(user), **kwargs,
        )


class DecommitView(ProjectFundingView):
    """POST: give a withdrawn project's unreleased commitment back to the envelope."""

    form_context_name = "decommit_form"
    success_message = gettext_lazy("The commitment was given back to the program's envelope.")

    def get_bound_form(self):
        if not self.request.user.has_perm(DECOMMIT):
            raise PermissionDenied(_("Only finance officers give commitments back."))
        return DecommitForm(self.request.POST)

    def call_service(self, form):
        services.envelope_decommit(project_id=self.project.pk, actor=self.request.user,
                                   reason=form.cleaned_data["reason"])

    def get(self, request, *args, **kwargs):
        return redirect("funding:project", self.project.pk)


class ProjectOrdersView(PermissionRequiredMixin, generic.TemplateView):
    """A project's purchase orders with their quotes, receipt reports and the steps the user
    takes on each: the page of everyone who works on orders, money readers or not."""

    permission_required = VIEW_ORDERS
    template_name = "disbursements/orders.html"

    def get_context_data(self, **kwargs):
        user = self.request.user
        project = get_object_or_404(GrantProject.objects.select_related("program", "beneficiary"),
                                    pk=self.kwargs["pk"])
        return super().get_context_data(
            project=project, orders=order_rows(project, selectors.project_orders(project), user),
            actions=procurement_page_actions(project, user), can_read_funding=user.has_perm(VIEW), **kwargs,
        )


class EquipmentPlanView(ProjectScreen):
    """The project's equipment plan beside the form that adds a line to it."""

    step = "equipment_plan"
    permission_required = PLAN
    form_class = EquipmentItemForm
    template_name = "disbursements/equipment_plan.html"
    intro = gettext_lazy("What the project needs, at the prices it expects: the quotes come later.")
    submit_label = gettext_lazy("Add to the plan")
    success_message = gettext_lazy("The item was added to the equipment plan.")

    def call_service(self, form):
        data = form.cleaned_data
        return services.equipment_item_add(
            project_id=self.project.pk, actor=self.request.user, description=data["description"],
            quantity=data["quantity"], unit_price=data["unit_price"],
        )

    def get_success_url(self):
        return reverse("funding:plan", args=[self.project.pk])

    def get_unavailable_reason(self):
        if self.project.state not in PLANNING_STATES:
            return _("The equipment plan is closed for this file.")
        return ""

    def get_context_data(self, **kwargs):
        plan, total = selectors.equipment_plan(self.project)
        approved = self.project.approved_amount
        return super().get_context_data(
            project=self.project, plan=plan, plan_total=total, approved=approved,
            over_approved=approved is not None and total > approved, **kwargs,
        )


class PurchaseOrderCreateView(ProjectScreen):
    """A new draft order on a project in funding; its quotes are added next."""

    step = "create_order"
    permission_required = PREPARE
    form_class = PurchaseOrderForm
    submit_label = gettext_lazy("Create the purchase order")

    def call_service(self, form):
        return services.purchase_order_create(project_id=self.project.pk, actor=self.request.user,
                                              description=form.cleaned_data["description"])

    def get_back_url(self):
        return reverse("funding:orders", args=[self.project.pk])

    def get_success_url(self):
        return reverse("funding:quote_add", args=[self.result.pk])

    def get_success_message(self, result):
        return _("%(reference)s created: add its competing quotes.") % {"reference": result.reference}

    def get_unavailable_reason(self):
        action = create_order_action(self.project, self.request.user)
        if action is None:
            return _("Purchase orders are prepared while the file is in funding.")
        return action.reason


class ConfirmEquipmentView(ProjectScreen):
    """funding → equipped, once every order is received with a signed receipt report."""

    step = EQUIPPED
    form_class = forms.Form
    template_name = "disbursements/confirm_equipment.html"
    submit_label = gettext_lazy("Confirm equipment")

    def get_permission_required(self):
        return (transition_permission(GrantProject, EQUIPPED),)

    def call_service(self, form):
        return services.project_confirm_equipment(project_id=self.project.pk, actor=self.request.user)

    def get_success_message(self, result):
        return _("The equipment of %(reference)s is confirmed: the file is equipped.") % {
            "reference": self.project.reference}

    def get_unavailable_reason(self):
        action = confirm_equipment_action(self.project, self.request.user)
        if action is None:
            return _("The equipment is confirmed while the file is in funding; it is %(state)s.") % {
                "state": self.project.get_state_display()}
        return action.reason

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            orders=order_rows(self.project, selectors.project_orders(self.project)), **kwargs)
