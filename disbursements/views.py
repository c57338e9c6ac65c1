"""The funding screens: the finance inbox, a project's funding page, the payments export.

Thin views: a form is parsed, one ``disbursements.services`` function is called, and a
coded error goes back on the form (``core.forms.add_service_error``), never a 500.
These pages only decide what to show; the services check every rule again
(permissions, separation of duties, budgets, step-up, idempotency).
"""

from django import forms
from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _
from django.views import generic

from core.exceptions import TamkeenError
from core.forms import add_service_error
from core.views import ServiceFormMixin
from disbursements import services
from disbursements.forms import AuthorizeForm, DecommitForm, DisbursementRequestForm, RejectForm, ReleaseForm
from disbursements.models import Disbursement, OrderState, ReceiptReport
from disbursements.selectors import finance_inbox, payments_csv, project_funding_summary
from disbursements.services._common import PAYING_STATES
from workflow.models import GrantProject, Program, ProjectState

AUTHORIZE = "disbursements.authorize_disbursement"
RELEASE = "disbursements.release_disbursement"
REQUEST = "disbursements.request_disbursement"
DECOMMIT = "disbursements.decommit_project"
VIEW = "disbursements.view_disbursement"
# Auditors are told apart from other readers by their verification duty.
AUDIT = "ledger.verify_ledger"
INBOX_PAGE_SIZE = 20


def can_use_inbox(user) -> bool:
    return user.has_perm(REQUEST) or user.has_perm(AUTHORIZE) or user.has_perm(RELEASE)


def can_export_payments(user) -> bool:
    return any(user.has_perm(p) for p in (REQUEST, AUTHORIZE, RELEASE, AUDIT))


def _row_auto_id(pk):
    # Several forms of one kind on the inbox page: unique ids, unchanged field names.
    return f"id_%s_{pk}"


# --- The finance inbox ------------------------------------------------------------------


class FinanceInboxView(PermissionRequiredMixin, generic.TemplateView):
    """Requests to authorize (authorizing officers) and authorized tranches to release
    (treasurers), oldest first, each list paginated on its own."""

    template_name = "disbursements/inbox.html"
    http_method_names = ["get"]
    # Set by an action that failed: (disbursement, action, bound form).
    failed = None

    def has_permission(self):
        return can_use_inbox(self.request.user)

    def _page(self, rows, param):
        return Paginator(rows, INBOX_PAGE_SIZE).get_page(self.request.GET.get(param))

    def _attach_forms(self, disbursement):
        pk = disbursement.pk
        disbursement.authorize_form = AuthorizeForm(auto_id=_row_auto_id(pk))
        disbursement.reject_form = RejectForm(auto_id=_row_auto_id(pk))
        disbursement.release_form = ReleaseForm(auto_id=_row_auto_id(pk))
        if self.failed and self.failed[0].pk == pk:
            setattr(disbursement, f"{self.failed[1]}_form", self.failed[2])
            disbursement.failed_action = self.failed[1]

    def get_context_data(self, **kwargs):
        user = self.request.user
        search = self.request.GET.get("q", "").strip()[:100]
        program_id = self.request.GET.get("program", "")
        program_id = int(program_id) if program_id.isdigit() else None
        inbox = finance_inbox(user, search=search, program_id=program_id)
        to_authorize = self._page(inbox.to_authorize, "authorize_page")
        to_release = self._page(inbox.to_release, "release_page")
        to_prepare = self._page(inbox.to_prepare, "prepare_page")
        to_give_back = self._page(inbox.to_give_back, "give_back_page")
        my_requests = self._page(inbox.my_requests, "mine_page")
        shown = set()
        for disbursement in [*to_authorize, *to_release]:
            self._attach_forms(disbursement)
            shown.add(disbursement.pk)
        failed_elsewhere = None
        if self.failed and self.failed[0].pk not in shown:
            # Not on this page (e.g. a request the user made): show its errors above the lists.
            failed_elsewhere = {"disbursement": self.failed[0], "form": self.failed[2]}
        query = self.request.GET.copy()
        return super().get_context_data(
            can_authorize=user.has_perm(AUTHORIZE), can_release=user.has_perm(RELEASE),
            can_request=user.has_perm(REQUEST), can_decommit=user.has_perm(DECOMMIT),
            to_give_back=to_give_back, give_back_query=_without(query, "give_back_page"),
            to_authorize=to_authorize, to_release=to_release, to_prepare=to_prepare, my_requests=my_requests,
            authorize_query=_without(query, "authorize_page"), release_query=_without(query, "release_page"),
            prepare_query=_without(query, "prepare_page"), mine_query=_without(query, "mine_page"),
            failed=self.failed, failed_elsewhere=failed_elsewhere,
            programs=Program.objects.order_by("-year", "name"), can_export=can_export_payments(user),
            search=search, program_id=program_id, filtered=bool(search or program_id),
            **kwargs,
        )


def _without(query, param):
    query = query.copy()
    query.pop(param, None)
    return query.urlencode()


class DisbursementActionView(FinanceInboxView):
    """POST only: one step on one disbursement from the inbox; on a refusal the inbox
    is shown again with the errors on that row's form."""

    http_method_names = ["post"]
    action = ""
    form_class = None
    permission = ""
    success_message = ""

    def has_permission(self):
        return self.request.user.has_perm(self.permission)

    def call_service(self, disbursement, data):
        raise NotImplementedError

    def post(self, request, pk):
        disbursement = get_object_or_404(
            Disbursement.objects.select_related("project", "project__program", "project__beneficiary"), pk=pk)
        form = self.form_class(request.POST, auto_id=_row_auto_id(pk))
        if form.is_valid():
            try:
                self.call_service(disbursement, form.cleaned_data)
            except TamkeenError as error:
                add_service_error(form, error)
            else:
                messages.success(request, self.success_message % {"reference": disbursement.reference})
                return redirect("funding:index")
        self.failed = (disbursement, self.action, form)
        return self.render_to_response(self.get_context_data())


class AuthorizeView(DisbursementActionView):
    action = "authorize"
    form_class = AuthorizeForm
    permission = AUTHORIZE
    success_message = _("%(reference)s authorized: a treasurer can now release it.")

    def call_service(self, disbursement, data):
        services.disbursement_authorize(disbursement_id=disbursement.pk, actor=self.request.user, note=data["note"])


class RejectView(DisbursementActionView):
    action = "reject"
    form_class = RejectForm
    permission = AUTHORIZE
    success_message = _("%(reference)s rejected.")

    def call_service(self, disbursement, data):
        services.disbursement_reject(disbursement_id=disbursement.pk, actor=self.request.user,
                                     reason=data["reason"])


class ReleaseView(DisbursementActionView):
    action = "release"
    form_class = ReleaseForm
    permission = RELEASE
    success_message = _("%(reference)s released: the payment is recorded.")

    def call_service(self, disbursement, data):
        try:
            services.disbursement_release(
                disbursement_id=disbursement.pk, actor=self.request.user, password=data["password"],
                payment_reference=data["payment_reference"], idempotency_key=data["idempotency_key"],
            )
        except TamkeenError as error:
            if error.code == "reauthentication_failed" and not error.field_errors:
                # The step-up failure belongs on the password field.
                error.field_errors = {"password": [str(error.message)]}
            raise


# --- A project's funding page -----------------------------------------------------------


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


# --- The payments export ----------------------------------------------------------------


class ProgramChoiceForm(forms.Form):
    program = forms.ModelChoiceField(label=_("Program"), queryset=Program.objects.all())


class PaymentsCsvView(PermissionRequiredMixin, generic.View):
    """``?program=<id>``: every released disbursement of the program, for accounting."""

    http_method_names = ["get"]

    def has_permission(self):
        return can_export_payments(self.request.user)

    def get(self, request):
        form = ProgramChoiceForm(request.GET)
        if not form.is_valid():
            raise Http404(_("Choose a program."))
        program = form.cleaned_data["program"]
        response = HttpResponse(payments_csv(program), content_type="text/csv; charset=utf-8")
        filename = f"payments-{program.code}-{timezone.localdate().isoformat()}.csv"
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response
