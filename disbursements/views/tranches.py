"""Cancelling a requested or authorized tranche before it is paid."""

from django.contrib.auth.mixins import PermissionRequiredMixin
from django.http import Http404
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.actions import named
from core.money import format_mad
from core.views import ServiceFormView
from disbursements import selectors, services
from disbursements.actions import STEPS, disbursement_actions
from disbursements.forms import CancelForm
from disbursements.views.access import REQUEST


class DisbursementCancelView(PermissionRequiredMixin, ServiceFormView):
    """requested or authorized → cancelled. Finance officer, not the one who authorized it."""

    permission_required = REQUEST
    form_class = CancelForm
    title = STEPS["cancel"].label
    confirm = STEPS["cancel"].confirm
    danger = True
    submit_label = gettext_lazy("Cancel the request")

    @cached_property
    def disbursement(self):
        disbursement = selectors.disbursement(self.kwargs["pk"])
        if disbursement is None:
            raise Http404
        return disbursement

    def call_service(self, form):
        return services.disbursement_cancel(disbursement_id=self.disbursement.pk, actor=self.request.user,
                                            reason=form.cleaned_data["reason"])

    def get_subject(self):
        project = self.disbursement.project
        return f"{project.reference} — {project.title}"

    def get_back_url(self):
        return reverse("funding:project", args=[self.disbursement.project_id])

    def get_success_message(self, result):
        return _("%(reference)s cancelled.") % {"reference": self.disbursement.reference}

    def get_unavailable_reason(self):
        action = named(disbursement_actions(self.disbursement, self.request.user), "cancel")
        if action is None:
            return _("This request is %(state)s: it can no longer be cancelled.") % {
                "state": self.disbursement.get_state_display()}
        return action.reason

    def get_context_data(self, **kwargs):
        d = self.disbursement
        kwargs.setdefault("action_intro", _("%(reference)s: %(amount)s requested by %(name)s.") % {
            "reference": d.reference, "amount": format_mad(d.amount),
            "name": d.requested_by.get_full_name() or d.requested_by.get_username()})
        return super().get_context_data(**kwargs)
