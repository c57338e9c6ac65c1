"""The chair's console: attendance, the live quorum and tally of each item, the
rule's proposal and its confirmation; opening and closing the session, each behind
a confirmation step.

Auditors and program officers may read the console; only the chair gets its forms.
An item the chair is recused from shows no tally and no decision form to them: a present
member without conflict confirms its decision from their session page.
"""

from dataclasses import dataclass

from django import forms
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views import generic

from approvals import services
from approvals.forms import CloseSessionForm, DecisionForm
from approvals.models import OPEN, PLANNED, AgendaItem, Attendance
from approvals.selectors import member_ids, present_ids, session_seats, session_tallies
from approvals.services.voting import outcome_for
from approvals.views.access import READ_EVERY_SESSION, SessionPageMixin
from approvals.views.summaries import agenda_items, proposal_label
from core.views import ServiceFormMixin, keep_next


@dataclass
class ConsoleRow:
    item: object
    tally: object  # ItemTally, or None when the viewer is recused from the item
    proposal: str
    outcome: str  # the decision the proposal leads to
    outdated: bool  # confirmed, but the votes changed since
    form: object  # DecisionForm, or None

    @property
    def anchor(self) -> str:
        return f"item-{self.item.pk}"

    @property
    def outcome_label(self):
        return AgendaItem.Outcome(self.outcome).label


def decision_prefix(item) -> str:
    return f"decision{item.pk}"


def decision_form(item) -> DecisionForm:
    """The unbound decision form of ``item``: its confirmed decision, else the largest
    amount it may get (the requested amount within the program's ceiling)."""
    return DecisionForm(prefix=decision_prefix(item), initial={
        "amount": item.approved_amount if item.approved_amount is not None
        else min(item.project.requested_amount, item.project.program.project_ceiling),
        # A system reason (no majority...) is not the chair's: confirming again keeps its code.
        "conditions": item.conditions, "reason": "" if item.reason_code else item.reason,
    })


class ChairConsoleView(SessionPageMixin, generic.TemplateView):
    template_name = "approvals/console.html"
    posted_item = None

    def check_access(self):
        if not (self.is_chair or self.request.user.has_perm(READ_EVERY_SESSION)):
            self.deny(_("The console is the committee chair's."))

    def rows(self, posted_form=None):
        session, user = self.session, self.request.user
        members, present = member_ids(session), present_ids(session)
        recused_from = set(session.items.filter(declarations__user=user, declarations__has_conflict=True)
                           .values_list("pk", flat=True))
        rows = []
        items = agenda_items(session)
        tallies = session_tallies(session, items, members=members, present=present)
        for item in items:
            tally = tallies[item.pk]
            outdated = item.confirmed_at is not None and item.confirmed_tally != tally.as_dict()
            form = None
            if self.is_chair and session.is_open and item.pk not in recused_from:
                if posted_form is not None and self.posted_item == item.pk:
                    form = posted_form
                else:
                    form = decision_form(item)
            rows.append(ConsoleRow(
                item=item, tally=None if item.pk in recused_from else tally,
                proposal=proposal_label(tally.proposal), outcome=outcome_for(tally.proposal),
                outdated=outdated, form=form,
            ))
        return rows

    def get_context_data(self, **kwargs):
        posted_form = kwargs.pop("posted_form", None)
        attendance = list(Attendance.objects.filter(session=self.session).select_related("user")
                          .order_by("user__last_name", "user__username"))
        seats = session_seats(self.session)
        rows = self.rows(posted_form)
        context = super().get_context_data(
            rows=rows,
            present=[a.user for a in attendance if a.present],
            absent=[a.user for a in attendance if not a.present],
            member_count=seats.count(),
            attendance_recorded=bool(attendance),
            decisions_missing=sum(1 for r in rows if r.item.confirmed_at is None),
            outdated_count=sum(1 for r in rows if r.outdated),
            **kwargs,
        )
        context["step_actions"] = [a for a in context["session_actions"] if a.name in ("open", "close")]
        return context


class DecisionFormMixin:
    """Posts the decision form of ``self.item`` to ``item_confirm_decision`` (the chair's
    console, and a member's page when the chair is recused from the file)."""

    def get_bound_form(self):
        return DecisionForm(self.request.POST, prefix=decision_prefix(self.item))

    def call_service(self, form):
        data = form.cleaned_data
        services.item_confirm_decision(item_id=self.item.pk, actor=self.request.user, amount=data["amount"],
                                       conditions=data["conditions"], reason=data["reason"])


class ConfirmDecisionView(DecisionFormMixin, ServiceFormMixin, ChairConsoleView):
    form_context_name = "posted_form"
    http_method_names = ["post"]
    success_message = _("Decision confirmed.")

    def check_access(self):
        if not self.is_chair:
            self.deny(_("Only the committee's chair confirms decisions."))
        self.item = get_object_or_404(self.session.items, pk=self.kwargs["item_pk"], removed=False)
        self.posted_item = self.item.pk

    def get_redirect_url(self):
        # One decision of several: back to the console, which still leads to the inbox.
        return keep_next(self.request, reverse("committees:console", args=[self.session.pk]) + f"#item-{self.item.pk}")


class _ChairActionView(ServiceFormMixin, SessionPageMixin, generic.TemplateView):
    """A confirmation page (GET) and the action (POST) of the chair."""

    template_name = "approvals/session_action.html"
    required_state = None
    form_class = forms.Form

    def check_access(self):
        if not self.is_chair:
            self.deny(_("Only the committee's chair opens and closes its sessions."))

    def get_bound_form(self):
        return self.form_class(self.request.POST)

    def get_success_url(self):
        return reverse("committees:console", args=[self.session.pk])

    def get_context_data(self, **kwargs):
        kwargs.setdefault("form", self.form_class())
        return super().get_context_data(
            action=self.action, wrong_state=self.session.state != self.required_state,
            items=agenda_items(self.session), **kwargs,
        )


class SessionOpenView(_ChairActionView):
    action = "open"
    required_state = PLANNED
    success_message = _("The session is open: members can now vote.")

    def call_service(self, form):
        services.session_open(session_id=self.session.pk, actor=self.request.user)

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            present_count=Attendance.objects.filter(session=self.session, present=True).count(),
            attendance_recorded=self.session.attendance.exists(), **kwargs)


class SessionCloseView(_ChairActionView):
    action = "close"
    required_state = OPEN
    form_class = CloseSessionForm
    success_message = _("The session is closed: the decisions are applied and the minutes are generated.")

    def call_service(self, form):
        services.session_close(session_id=self.session.pk, actor=self.request.user)

    def get_success_url(self):
        return reverse("committees:detail", args=[self.session.pk])

