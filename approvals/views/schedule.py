"""The program officer's "put on an agenda" step for one eligible file: choose one of
the program's planned sessions (``session_add_item``)."""

from urllib.parse import urlencode

from django import forms
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from approvals import services
from approvals.models import PLANNED, CommitteeSession
from core.actions import Action
from workflow.views.tasks import ProjectStepView


class SessionChoiceForm(forms.Form):
    session = forms.ModelChoiceField(
        label=_("Committee session"), queryset=CommitteeSession.objects.none(),
        empty_label=None, widget=forms.RadioSelect,
    )

    def __init__(self, *args, sessions, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["session"].queryset = sessions
        self.fields["session"].label_from_instance = lambda session: (
            f"{session.title} — {session.scheduled_for:%d/%m/%Y %H:%M}"
            + (f" — {session.location}" if session.location else "")
        )


class ScheduleProjectView(ProjectStepView):
    permission_required = "workflow.schedule_project"
    form_class = SessionChoiceForm
    template_name = "approvals/schedule.html"
    title = _("Put on a committee agenda")
    submit_label = _("Put on this session's agenda")

    def sessions(self):
        return (CommitteeSession.objects.filter(committee__program=self.project.program_id, state=PLANNED)
                .select_related("committee").order_by("scheduled_for", "pk"))

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "sessions": self.sessions()}

    def get_unavailable_reason(self):
        if not self.sessions().exists():
            return gettext("No session of this program's committee is planned: plan one first (Committee → Plan a session).")
        return ""

    def call_service(self, form):
        return services.session_add_item(session_id=form.cleaned_data["session"].pk, project_id=self.project.pk,
                                         actor=self.request.user)

    def get_context_data(self, **kwargs):
        return super().get_context_data(actions=self.plan_session_actions(), **kwargs)

    def plan_session_actions(self) -> list[Action]:
        """The way to plan the session the file needs, coming back here once it is planned
        (this page's own ``?next=`` kept)."""
        if not self.request.user.has_perm("approvals.manage_session"):
            return []
        url = f"{reverse('committees:create')}?{urlencode({'next': self.request.get_full_path()})}"
        return [Action("plan_session", gettext("Plan a session"), url)]

    def get_success_message(self, result):
        return gettext("%(reference)s is on the agenda of %(session)s.") % {
            "reference": self.project.reference, "session": result.session.title}
