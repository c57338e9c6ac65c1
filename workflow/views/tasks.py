"""The screens of the grant flow's steps that workflow shows: screening, training
sign-off and launch. Each calls one service; the transition completes the step's task
in the same transaction (``workflow.engine``), so the screen works the same from the
inbox, from the file's page or from a link.

The training sign-off and launch steps call the service their owning app registered
for them (``workflow.task_services``): workflow does not import it.
"""

from django.contrib.auth.mixins import PermissionRequiredMixin
from django.http import Http404
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.views import ServiceFormView
from workflow import services, task_services
from workflow.forms import LaunchForm, ScreeningForm, TrainingSignoffForm
from workflow.models import GrantProject
from workflow.selectors import project_eligibility_preview


class ProjectStepView(PermissionRequiredMixin, ServiceFormView):
    """One step on one file: the file's card beside the form; back to the inbox when
    the step was opened from it (``?next=``), to the file otherwise."""

    template_name = "workflow/step.html"
    raise_exception = True

    @cached_property
    def project(self):
        try:
            return GrantProject.objects.select_related("program", "beneficiary", "sector").get(pk=self.kwargs["pk"])
        except GrantProject.DoesNotExist:
            raise Http404(gettext("No such project.")) from None

    def get_subject(self):
        return f"{self.project.reference} — {self.project.title}"

    def get_back_url(self):
        return reverse("projects:detail", args=[self.project.pk])

    def get_success_message(self, result):
        return gettext("%(step)s: done for %(reference)s.") % {"step": self.title, "reference": self.project.reference}

    def get_context_data(self, **kwargs):
        kwargs.setdefault("project", self.project)
        return super().get_context_data(**kwargs)


class ScreeningView(ProjectStepView):
    permission_required = "workflow.screen_project"
    form_class = ScreeningForm
    title = _("Eligibility screening")
    submit_label = _("Record the screening")
    confirm = _("I confirm this screening: an ineligible file cannot be screened again.")

    def call_service(self, form):
        data = form.cleaned_data
        if data["decision"] == ScreeningForm.RETURN:
            return services.project_return_docs(project_id=self.project.pk, actor=self.request.user,
                                                reason=data["reason"])
        return services.project_screen(project_id=self.project.pk, actor=self.request.user,
                                       note=data["note"], failures=data["failures"])

    def get_context_data(self, **kwargs):
        kwargs.setdefault("rule_failures", project_eligibility_preview(self.project))
        return super().get_context_data(**kwargs)


class TrainingSignoffView(ProjectStepView):
    permission_required = "workflow.complete_training"
    form_class = TrainingSignoffForm
    title = _("Training sign-off")
    submit_label = _("Sign off the training")

    def call_service(self, form):
        return task_services.service_for(task_services.TRAINING_SIGNOFF)(
            project_id=self.project.pk, actor=self.request.user)


class LaunchView(ProjectStepView):
    permission_required = "workflow.launch_project"
    form_class = LaunchForm
    title = _("Project launch")
    submit_label = _("Launch the project")
    confirm = _("I confirm the project starts its activity today: its follow-up visits are planned from now.")

    def call_service(self, form):
        return task_services.service_for(task_services.LAUNCH)(
            project_id=self.project.pk, actor=self.request.user, note=form.cleaned_data["note"])
