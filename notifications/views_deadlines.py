"""A program's time limits: the table of its steps' limits, and the form that changes
one (``program_deadline_set``, signed on the program's chain)."""

from django import forms
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.http import Http404
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.actions import Action
from core.views import ServiceFormView
from notifications.deadlines import deadlines_for
from notifications.models import DEFAULT_DEADLINES, Step
from notifications.services import program_deadline_set
from workflow.models import Program
from workflow.program_sections import ProgramSection, program_page_url


class DeadlineForm(forms.Form):
    step = forms.ChoiceField(label=_("Step"), choices=Step.choices)
    remind_after_days = forms.CharField(label=_("Remind the assignee after (days)"), max_length=4)
    escalate_after_days = forms.CharField(label=_("Alert the program officers after (days)"), max_length=4)


def limits_rows(program) -> list[dict]:
    limits = deadlines_for(program)
    return [{"step": Step(step).label, "remind": remind, "escalate": escalate,
             "default": (remind, escalate) == DEFAULT_DEADLINES[Step(step)]}
            for step, (remind, escalate) in limits.items()]


class ProgramDeadlinesView(PermissionRequiredMixin, ServiceFormView):
    permission_required = "notifications.change_stepdeadline"
    raise_exception = True
    template_name = "notifications/program_deadlines.html"
    form_class = DeadlineForm
    title = _("Time limits of the steps")
    intro = _("After the first limit the person who must act is reminded; after the second, the program "
              "officers are alerted. Each change is signed on the program's audit chain.")
    submit_label = _("Save this step's limits")

    @cached_property
    def program(self):
        try:
            return Program.objects.get(pk=self.kwargs["pk"])
        except Program.DoesNotExist:
            raise Http404(gettext("No such program.")) from None

    def get_initial(self):
        step = self.request.GET.get("step", Step.SCREENING)
        step = step if step in Step.values else Step.SCREENING
        remind, escalate = deadlines_for(self.program)[step]
        return {"step": step, "remind_after_days": remind, "escalate_after_days": escalate}

    def call_service(self, form):
        data = form.cleaned_data
        return program_deadline_set(program_id=self.program.pk, actor=self.request.user, step=data["step"],
                                    remind_after_days=data["remind_after_days"],
                                    escalate_after_days=data["escalate_after_days"])

    def get_subject(self):
        return str(self.program)

    def get_back_url(self):
        return program_page_url(self.program.pk)

    def get_success_url(self):
        return reverse("notifications:deadlines", args=[self.program.pk])

    def get_success_message(self, result):
        return gettext("The time limits are saved.")

    def get_context_data(self, **kwargs):
        return super().get_context_data(rows=limits_rows(self.program), **kwargs)


def deadlines_section(program, user) -> ProgramSection | None:
    """The program page's card of its time limits; for those who set them, the way to."""
    if not user.has_perm("notifications.view_stepdeadline"):
        return None
    actions = ()
    if user.has_perm("notifications.change_stepdeadline"):
        actions = (Action("deadlines", gettext("Change a time limit"),
                          reverse("notifications:deadlines", args=[program.pk])),)
    return ProgramSection(key="deadlines", title=gettext("Time limits of the steps"),
                          template_name="notifications/includes/program_deadlines.html",
                          context={"rows": limits_rows(program)}, actions=actions, order=30)
