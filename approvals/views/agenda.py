"""The program officer's agenda builder: eligible files of the committee's program,
the agenda (add, remove with a reason), and the attendance."""

from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views import generic

from approvals import services
from approvals.forms import AgendaAddForm, AgendaRemoveForm, AttendanceForm, EligibleSearchForm
from approvals.models import CLOSED, PLANNED, Attendance
from approvals.selectors import session_seats
from approvals.views.access import SessionPageMixin
from approvals.views.summaries import agenda_items
from core.views import ServiceFormMixin
from workflow.models import ProjectState
from workflow.selectors import project_list

ELIGIBLE_SHOWN = 50


class AgendaView(SessionPageMixin, generic.TemplateView):
    template_name = "approvals/agenda.html"

    def check_access(self):
        if not self.is_officer:
            self.deny(_("Only program officers build a session's agenda."))

    def members(self):
        return list(session_seats(self.session)
                    .select_related("user").order_by("-role", "user__last_name", "user__username"))

    def attendance_form(self):
        present = Attendance.objects.filter(session=self.session, present=True).values_list("user_id", flat=True)
        return AttendanceForm(members=self.members(), initial={"present": [str(pk) for pk in present]})

    def get_context_data(self, **kwargs):
        session = self.session
        planned = session.state == PLANNED
        search_form = EligibleSearchForm(self.request.GET or None)
        eligible, more = [], False
        if planned:
            search = search_form.cleaned_data["q"] if search_form.is_valid() else ""
            found = list(project_list(search=search, state=ProjectState.ELIGIBLE)
                         .filter(program=session.committee.program)
                         .select_related("beneficiary__commune")[:ELIGIBLE_SHOWN + 1])
            eligible, more = found[:ELIGIBLE_SHOWN], len(found) > ELIGIBLE_SHOWN
        kwargs.setdefault("add_form", AgendaAddForm())
        if session.state != CLOSED:
            kwargs.setdefault("attendance_form", self.attendance_form())
        return super().get_context_data(
            items=agenda_items(session), planned=planned, search_form=search_form,
            eligible=eligible, more_eligible=more, attendance_recorded=session.attendance.exists(),
            **kwargs,
        )


class AgendaAddView(ServiceFormMixin, AgendaView):
    form_context_name = "add_form"
    success_message = _("The file is on the agenda.")
    http_method_names = ["post"]

    def get_bound_form(self):
        return AgendaAddForm(self.request.POST)

    def call_service(self, form):
        services.session_add_item(session_id=self.session.pk, project_id=form.cleaned_data["project"],
                                  actor=self.request.user)

    def get_success_url(self):
        return reverse("committees:agenda", args=[self.session.pk])


class AttendanceView(ServiceFormMixin, AgendaView):
    form_context_name = "attendance_form"
    success_message = _("Attendance recorded.")
    http_method_names = ["post"]

    def get_bound_form(self):
        return AttendanceForm(self.request.POST, members=self.members())

    def call_service(self, form):
        services.session_record_attendance(session_id=self.session.pk, actor=self.request.user,
                                           present_user_ids=form.cleaned_data["present"])

    def get_success_url(self):
        return reverse("committees:agenda", args=[self.session.pk])


class AgendaRemoveView(ServiceFormMixin, SessionPageMixin, generic.TemplateView):
    """A confirmation step: the file, what removing it does, the reason."""

    template_name = "approvals/agenda_remove.html"
    success_message = _("The file was taken off the agenda and is eligible again.")

    def check_access(self):
        if not self.is_officer:
            self.deny(_("Only program officers build a session's agenda."))
        self.item = get_object_or_404(
            self.session.items.select_related("project", "project__program"), pk=self.kwargs["item_pk"],
            removed=False,
        )

    def get_bound_form(self):
        return AgendaRemoveForm(self.request.POST)

    def call_service(self, form):
        services.session_remove_item(session_id=self.session.pk, item_id=self.item.pk,
                                     actor=self.request.user, reason=form.cleaned_data["reason"])

    def get_success_url(self):
        return reverse("committees:agenda", args=[self.session.pk])

    def get_context_data(self, **kwargs):
        kwargs.setdefault("form", AgendaRemoveForm())
        return super().get_context_data(item=self.item, project=self.item.project, **kwargs)
