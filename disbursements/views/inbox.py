"""The finance tray: requests to authorize, tranches to release, the maker's projects and
requests, and its POST endpoints (authorize, reject, release), each re-rendering the tray
with the errors on the row's form."""

from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext_lazy as _
from django.views import generic

from core.exceptions import TamkeenError
from core.views import call_with_form, failed, next_url
from disbursements import services
from disbursements.forms import AuthorizeForm, RejectForm, ReleaseForm
from disbursements.models import Disbursement
from disbursements.selectors import finance_inbox
from disbursements.views.access import (
    AUTHORIZE,
    DECOMMIT,
    RELEASE,
    REQUEST,
    can_export_payments,
    can_use_inbox,
)
from twofactor.stepup import second_factor_proof
from workflow import inbox as tasks_inbox
from workflow.models import Program

INBOX_PAGE_SIZE = 20


def _row_auto_id(pk):
    # Several forms of one kind on the inbox page: unique ids, unchanged field names.
    return f"id_%s_{pk}"


# --- The finance inbox ------------------------------------------------------------------


def equipment_steps():
    """Funding's other steps in the inbox (the tray lists authorizations and releases
    itself, from the same tasks): opening funding, ordering, each order's steps."""
    from disbursements.flows import PurchaseOrderFlow
    from workflow.flows import GrantFlow

    order_steps = [node for node in PurchaseOrderFlow.instance.nodes() if hasattr(node, "screen_for")]
    return [GrantFlow.funding, GrantFlow.procurement, GrantFlow.equipment_check, *order_steps]


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
        disbursement.release_form = ReleaseForm(auto_id=_row_auto_id(pk), user=self.request.user)
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
            waiting=tasks_inbox.rows(user, back=self.request.get_full_path(), nodes=equipment_steps()),
            back=next_url(self.request),
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
    # Shown instead when the service says the very same request had already succeeded.
    replayed_message = ""

    def has_permission(self):
        return self.request.user.has_perm(self.permission)

    def call_service(self, disbursement, data):
        raise NotImplementedError

    def form_kwargs(self) -> dict:
        return {}

    def post(self, request, pk):
        disbursement = get_object_or_404(
            Disbursement.objects.select_related("project", "project__program", "project__beneficiary"), pk=pk)
        form = self.form_class(request.POST, auto_id=_row_auto_id(pk), **self.form_kwargs())
        result = form.is_valid() and call_with_form(form, lambda: self.call_service(disbursement,
                                                                                    form.cleaned_data))
        if form.is_valid() and not failed(result):
            replayed = getattr(result, "replayed", False)
            message = self.replayed_message if replayed else self.success_message
            messages.success(request, message % {"reference": disbursement.reference})
            return redirect(next_url(request) or "funding:index")  # back to the inbox it came from
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
    replayed_message = _("%(reference)s already released: the payment was recorded by this same request.")

    def form_kwargs(self):
        return {"user": self.request.user}

    def call_service(self, disbursement, data):
        try:
            return services.disbursement_release(
                disbursement_id=disbursement.pk, actor=self.request.user, password=data["password"],
                second_factor=second_factor_proof(self.request, data),
                payment_reference=data["payment_reference"], idempotency_key=data["idempotency_key"],
            )
        except TamkeenError as error:
            if error.code == "reauthentication_failed" and not error.field_errors:
                # The step-up failure belongs on the password field.
                error.field_errors = {"password": [str(error.message)]}
            raise
