"""A program's committees and their seats, for program officers: create a committee
with its chair, seat a member or a chair for a period, end a seat. Each form calls one
service of ``approvals.services.committees``; its coded errors land on the fields."""

from django.contrib.auth.mixins import PermissionRequiredMixin
from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views import generic

from approvals import services
from approvals.forms_committees import CommitteeCreateForm, EndSeatForm, SeatForm
from approvals.models import Committee, CommitteeMember
from approvals.selectors import committee_seats
from core.actions import Action
from core.views import ServiceFormView
from workflow.models import Program
from workflow.program_sections import program_page_url


def seat_status(seat, today) -> str:
    if not seat.is_active:
        return "withdrawn"
    if seat.active_to is not None and seat.active_to < today:
        return "ended"
    if seat.active_from is not None and seat.active_from > today:
        return "upcoming"
    return "seated"


SEAT_STATUS_LABELS = {
    "seated": _("seated"), "upcoming": _("upcoming"), "ended": _("ended"), "withdrawn": _("withdrawn"),
}


def seat_rows(committee, user) -> list[dict]:
    """The committee's seats as its page shows them, each with the way to end it."""
    today = timezone.localdate()
    may_end = user.has_perm("approvals.change_committeemember")
    rows = []
    for seat in committee_seats(committee):
        status = seat_status(seat, today)
        end = None
        if may_end and status in ("seated", "upcoming"):
            end = Action("end_seat", gettext("End the seat"),
                         reverse("committees:member_end", args=[committee.pk, seat.pk]), danger=True)
        rows.append({"seat": seat, "status": status, "status_label": SEAT_STATUS_LABELS[status], "end": end})
    return rows


class CommitteeMixin:
    @cached_property
    def committee(self):
        committee = Committee.objects.select_related("program").filter(pk=self.kwargs["committee_pk"]).first()
        if committee is None:
            raise Http404(_("No such committee."))
        return committee

    def get_subject(self):
        return f"{self.committee.name} — {self.committee.program}"

    def get_back_url(self):
        return reverse("committees:committee", args=[self.committee.pk])


class CommitteeDetailView(PermissionRequiredMixin, CommitteeMixin, generic.TemplateView):
    """A committee: its seats (held, upcoming, ended) and the officer's actions."""

    permission_required = "approvals.view_committeemember"
    template_name = "approvals/committee_detail.html"

    def get_context_data(self, **kwargs):
        committee, user = self.committee, self.request.user
        actions = []
        if user.has_perm("approvals.add_committeemember"):
            actions.append(Action("seat_member", gettext("Seat a member"),
                                  reverse("committees:member_add", args=[committee.pk])))
        return super().get_context_data(
            committee=committee, rows=seat_rows(committee, user), actions=actions,
            program_url=program_page_url(committee.program_id), **kwargs,
        )


class CommitteeCreateView(PermissionRequiredMixin, ServiceFormView):
    permission_required = "approvals.add_committee"
    form_class = CommitteeCreateForm
    title = _("New committee")
    intro = _("The committee starts with its chair; seat its members next.")
    submit_label = _("Create the committee")
    success_message = _("Committee created: now seat its members.")

    @cached_property
    def program(self):
        program = Program.objects.filter(pk=self.kwargs["program_pk"]).first()
        if program is None:
            raise Http404(_("No such program."))
        return program

    def call_service(self, form):
        data = form.cleaned_data
        return services.committee_create(
            actor=self.request.user, program=self.program, name=data["name"],
            members=[(data["chair"], CommitteeMember.Role.CHAIR)],
            active_from=data["active_from"] or timezone.localdate(),
        )

    def get_subject(self):
        return str(self.program)

    def get_back_url(self):
        return program_page_url(self.program.pk)

    def get_success_url(self):
        return reverse("committees:committee", args=[self.result.pk])


class SeatAddView(PermissionRequiredMixin, CommitteeMixin, ServiceFormView):
    permission_required = "approvals.add_committeemember"
    form_class = SeatForm
    template_name = "approvals/committee_seat_form.html"
    title = _("Seat a member")
    submit_label = _("Seat")
    success_message = _("Seat recorded.")

    def call_service(self, form):
        data = form.cleaned_data
        return services.committee_add_member(
            actor=self.request.user, committee=self.committee, user=data["user"], role=data["role"],
            active_from=data["active_from"] or timezone.localdate(), active_to=data["active_to"],
        )

    def get_context_data(self, **kwargs):
        return super().get_context_data(rows=seat_rows(self.committee, self.request.user), **kwargs)


class SeatEndView(PermissionRequiredMixin, CommitteeMixin, ServiceFormView):
    permission_required = "approvals.change_committeemember"
    form_class = EndSeatForm
    title = _("End the seat")
    submit_label = _("End the seat")
    success_message = _("Seat ended.")
    confirm = _("I confirm: from the day after, this person no longer counts for the committee's quorum and votes.")
    danger = True

    @cached_property
    def seat(self):
        seat = CommitteeMember.objects.select_related("user").filter(
            pk=self.kwargs["member_pk"], committee_id=self.committee.pk).first()
        if seat is None:
            raise Http404(_("No such seat."))
        return seat

    def get_subject(self):
        return f"{self.seat.user.get_full_name() or self.seat.user.get_username()} — {self.committee.name}"

    def call_service(self, form):
        return services.committee_end_member(actor=self.request.user, member_id=self.seat.pk,
                                             active_to=form.cleaned_data["active_to"])
