"""The file's own action screens: one page per lifecycle service that had no door.

Each page is a ``core.views.ServiceFormView`` for one transition of the file: the
roles holding the transition's permission get the form, others a 403; the form parses,
the service decides, and its coded error lands on the field it concerns with nothing
changed. ``WorkflowConfig.ready`` registers each page as the screen of its transition
(``workflow.actions``), so the file's page offers it exactly when it may be taken.
"""

from django.contrib.auth.mixins import PermissionRequiredMixin
from django.http import Http404
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _

from core.views import ServiceFormView
from workflow import selectors, services
from workflow.actions import Screen, unavailable_reason
from workflow.forms import AssignAgentForm, ResumeForm, SuspendForm, WithdrawForm
from workflow.models import GrantProject


class ProjectActionView(PermissionRequiredMixin, ServiceFormView):
    """One transition of one file, as a page under ``/projects/<id>/``.

    Subclasses name the ``transition`` they take and the ``url_name`` of their page in
    the ``projects`` namespace; ``label`` is the button that leads there from the file.
    The permission is the transition's own, read from the state machine, so the page
    and the file's action list never disagree on who may act.
    """

    transition = ""
    url_name = ""
    label = ""

    @classmethod
    def screen(cls) -> Screen:
        return Screen(cls.label, f"projects:{cls.url_name}", confirm=cls.confirm, danger=cls.danger,
                      stepup=cls.stepup)

    def get_permission_required(self):
        return (GrantProject.transition_permission(self.transition),)

    @cached_property
    def project(self) -> GrantProject:
        try:
            return selectors.project_detail(self.kwargs["pk"])
        except GrantProject.DoesNotExist:
            raise Http404(_("No such project.")) from None

    def get_subject(self):
        return str(self.project)

    def get_back_url(self):
        return reverse("projects:detail", args=[self.project.pk])

    def get_unavailable_reason(self):
        return unavailable_reason(self.project, self.request.user, self.transition)

    def get_success_message(self, result):
        return self.success_message % {"reference": result.reference}

    def get_context_data(self, **kwargs):
        kwargs.setdefault("project", self.project)
        return super().get_context_data(**kwargs)


class ProjectResubmitView(ProjectActionView):
    """The association agent sends back a file the committee asked to revise, once
    revised; the page recalls what the committee asked."""

    transition = url_name = "resubmit"
    label = _("Resubmit the revised file")
    title = _("Resubmit the file after revision")
    submit_label = _("Resubmit")
    template_name = "workflow/actions/resubmit.html"
    confirm = _("I confirm the file is revised: once resubmitted, it goes back to screening.")
    success_message = _("File %(reference)s resubmitted: it goes back to screening.")

    def get_context_data(self, **kwargs):
        kwargs.setdefault("revision_reason", selectors.committee_revision_reason(self.project))
        return super().get_context_data(**kwargs)

    def call_service(self, form):
        return services.project_resubmit(project_id=self.project.pk, actor=self.request.user)


class ProjectEnrolView(ProjectActionView):
    """The program officer enrols an approved file in the program's training."""

    transition = url_name = "enrol"
    label = _("Enrol in training")
    title = _("Enrol the file in training")
    intro = _("The committee approved this file: the beneficiary now follows the program's training, "
              "which a program officer signs off once the mandatory modules are attended.")
    submit_label = _("Enrol")
    confirm = _("I confirm the beneficiary is enrolled in training: the file cannot go back to “approved”.")
    success_message = _("File %(reference)s enrolled in training.")

    def call_service(self, form):
        return services.project_enrol(project_id=self.project.pk, actor=self.request.user)


class ProjectOpenFundingView(ProjectActionView):
    """The finance officer opens the funding of a trained file: the purchase orders for
    its equipment may then be prepared."""

    transition = "open_funding"
    url_name = "open_funding"
    label = _("Open funding")
    title = _("Open the file's funding")
    intro = _("Training is signed off: opening the funding lets the purchase orders for the equipment be "
              "prepared, within the approved amount.")
    submit_label = _("Open funding")
    confirm = _("I confirm the funding of this file opens: it cannot go back to “trained”.")
    success_message = _("Funding of file %(reference)s opened.")

    def call_service(self, form):
        return services.project_open_funding(project_id=self.project.pk, actor=self.request.user)


class ProjectWithdrawView(ProjectActionView):
    """The beneficiary gives up her project: the association agent or a program officer
    records it, with her reason. Nothing brings a withdrawn file back."""

    transition = url_name = "withdraw"
    label = _("Withdraw the file")
    title = _("Withdraw the file at the beneficiary's request")
    intro = _("The file ends here for good: it cannot be resumed, resubmitted or funded, and its open tasks "
              "are cancelled. What an approved file had committed is given back to the envelope by a "
              "finance officer.")
    form_class = WithdrawForm
    submit_label = _("Withdraw the file")
    confirm = _("I confirm the beneficiary asked to withdraw: this cannot be undone.")
    danger = True
    success_message = _("File %(reference)s withdrawn.")

    def call_service(self, form):
        return services.project_withdraw(project_id=self.project.pk, actor=self.request.user,
                                         reason=form.cleaned_data["reason"])


class ProjectSuspendView(ProjectActionView):
    """The program officer holds a file where it is (documents under verification, a
    dispute) until it is resumed."""

    transition = url_name = "suspend"
    label = _("Suspend the file")
    title = _("Suspend the file")
    intro = _("The file stays where it is and no step can move it until a program officer resumes it; "
              "it returns then to the state it had.")
    form_class = SuspendForm
    submit_label = _("Suspend")
    success_message = _("File %(reference)s suspended.")

    def call_service(self, form):
        return services.project_suspend(project_id=self.project.pk, actor=self.request.user,
                                        reason=form.cleaned_data["reason"])


class ProjectResumeView(ProjectActionView):
    """The program officer lifts a suspension: the file returns to the state it was
    suspended from."""

    transition = url_name = "resume"
    label = _("Resume the file")
    title = _("Resume the file")
    form_class = ResumeForm
    submit_label = _("Resume")
    success_message = _("File %(reference)s resumed.")

    def get_context_data(self, **kwargs):
        if self.project.state_before_suspension:
            kwargs.setdefault("action_intro", _("The file returns to “%(state)s”, where it was when suspended.")
                              % {"state": self.project.get_state_before_suspension_display()})
        return super().get_context_data(**kwargs)

    def call_service(self, form):
        return services.project_resume(project_id=self.project.pk, actor=self.request.user,
                                       note=form.cleaned_data["note"])


class ProjectAssignAgentView(ProjectActionView):
    """A program officer gives the file to another association agent: the agent who
    works on it from then on, with its open steps."""

    transition = "assign_agent"
    url_name = "assign_agent"
    label = _("Give to another agent")
    title = _("Give the file to another agent")
    form_class = AssignAgentForm
    submit_label = _("Give the file")
    success_message = _("File %(reference)s given to another agent.")

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "current": self.project.agent_in_charge_id}

    def get_context_data(self, **kwargs):
        agent = self.project.assigned_agent or self.project.created_by
        kwargs.setdefault("action_intro", _("The agent who works on it now: %(agent)s. The new agent takes its "
                                            "open steps; the change is signed in the file's history.")
                          % {"agent": agent.get_full_name() or agent.username})
        return super().get_context_data(**kwargs)

    def call_service(self, form):
        return services.project_assign_agent(project_id=self.project.pk, actor=self.request.user,
                                             agent_id=form.cleaned_data["agent"], reason=form.cleaned_data["reason"])


# In the order the file's page lists them (available ones first, dangerous ones last).
ACTION_VIEWS = (
    ProjectResubmitView, ProjectEnrolView, ProjectOpenFundingView,
    ProjectResumeView, ProjectAssignAgentView, ProjectSuspendView, ProjectWithdrawView,
)
