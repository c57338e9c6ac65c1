"""The program officer's "put on an agenda" step for one eligible file: choose one of
the program's planned sessions (``session_add_item``)."""

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from approvals import services
from approvals.models import PLANNED, CommitteeSession
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

    def get_success_message(self, result):
        return gettext("%(reference)s is on the agenda of %(session)s.") % {
            "reference": self.project.reference, "session": result.session.title}
