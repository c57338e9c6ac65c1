"""The task screens of ``GrantFlow``: parse the form, call one service, finish the task.

viewflow runs a task view's POST inside its own transaction, holding the process
row lock, so the service joins that transaction (``within_caller_transaction``):
the transition, its audit entry and the task's completion commit together, or not
at all. A coded service error rolls back to the service's savepoint and is shown
on the form; the task stays open.

The training sign-off, launch and closure steps call the service their owning app
registered for them (``workflow.task_services``): workflow does not import it.
"""

from django.utils.translation import gettext_lazy as _
from django.views import generic
from viewflow.workflow.flow.views import mixins

from core.transactions import within_caller_transaction
from core.views import call_with_form, failed
from workflow import services, task_services
from workflow.forms import ClosureForm, LaunchForm, ScreeningForm, TrainingSignoffForm
from workflow.selectors import project_eligibility_preview


class ServiceTaskView(
    mixins.SuccessMessageMixin,
    mixins.TaskSuccessUrlMixin,
    generic.FormView,
):
    template_name = "workflow/task.html"
    success_message = _("Task {task} has been completed.")

    @property
    def project(self):
        return self.request.activation.process.project

    def call_service(self, form, *, project_id, actor):
        """Call the step's one service and return the project it moved."""
        raise NotImplementedError

    def form_valid(self, form):
        def call():
            with within_caller_transaction():
                return self.call_service(form, project_id=self.project.pk, actor=self.request.user)

        project = call_with_form(form, call)
        if failed(project):
            return self.form_invalid(form)
        # The flow's gateways route on the state this step left (see flows._outcome).
        task = self.request.activation.task
        task.data = {**(task.data or {}), "state": project.state}
        self.request.activation.execute()
        return super().form_valid(form)

    def get_context_data(self, **kwargs):
        kwargs.setdefault("project", self.project)
        return super().get_context_data(**kwargs)


class ScreeningView(ServiceTaskView):
    form_class = ScreeningForm

    def call_service(self, form, *, project_id, actor):
        data = form.cleaned_data
        if data["decision"] == ScreeningForm.RETURN:
            return services.project_return_docs(project_id=project_id, actor=actor, reason=data["reason"])
        else:
            return services.project_screen(
                project_id=project_id, actor=actor, note=data["note"], failures=data["failures"]
            )

    def get_context_data(self, **kwargs):
        kwargs.setdefault("rule_failures", project_eligibility_preview(self.project))
        return super().get_context_data(**kwargs)


class TrainingSignoffView(ServiceTaskView):
    form_class = TrainingSignoffForm

    def call_service(self, form, *, project_id, actor):
        return task_services.service_for(task_services.TRAINING_SIGNOFF)(project_id=project_id, actor=actor)


class LaunchView(ServiceTaskView):
    form_class = LaunchForm

    def call_service(self, form, *, project_id, actor):
        return task_services.service_for(task_services.LAUNCH)(
            project_id=project_id, actor=actor, note=form.cleaned_data["note"]
        )


class ClosureView(ServiceTaskView):
    form_class = ClosureForm

    def call_service(self, form, *, project_id, actor):
        return task_services.service_for(task_services.CLOSURE)(
            project_id=project_id, actor=actor,
            outcome=form.cleaned_data["outcome"], reason=form.cleaned_data["reason"],
        )
