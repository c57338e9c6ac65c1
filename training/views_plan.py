"""A program's training plan, for program officers and administrators: its modules
(planned hours, mandatory or not) and the form that sets one through
``training.services.program_module_set``."""

from django.contrib.auth.mixins import PermissionRequiredMixin
from django.http import Http404
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _

from core.views import ServiceFormView
from training import services
from training.forms import PlanModuleForm
from training.models import TrainingModule
from training.selectors import program_plan
from workflow.models import Program
from workflow.program_sections import program_page_url


class PlanView(PermissionRequiredMixin, ServiceFormView):
    permission_required = "training.add_programmodule"
    form_class = PlanModuleForm
    template_name = "training/plan_form.html"
    title = _("Training plan")
    intro = _("Set a module of the catalog in the program's plan, or change its planned hours and whether it "
              "is mandatory. The training sign-off checks every mandatory module against the attendance "
              "threshold.")
    submit_label = _("Save the module")
    success_message = _("Training plan saved.")

    @cached_property
    def program(self):
        program = Program.objects.filter(pk=self.kwargs["program_pk"]).first()
        if program is None:
            raise Http404(_("No such program."))
        return program

    def get_initial(self):
        """The module named in ``?module=<code>`` as the plan has it, for its change."""
        module = TrainingModule.objects.filter(code=self.request.GET.get("module", "")).first()
        if module is None:
            return {"mandatory": True}
        planned = next((item for item in program_plan(self.program) if item.module_id == module.pk), None)
        if planned is None:
            return {"module": module, "mandatory": True}
        return {"module": module, "planned_hours": planned.planned_hours, "mandatory": planned.mandatory}

    def call_service(self, form):
        data = form.cleaned_data
        return services.program_module_set(actor=self.request.user, program_id=self.program.pk,
                                           module=data["module"], planned_hours=data["planned_hours"],
                                           mandatory=data["mandatory"])

    def get_subject(self):
        return str(self.program)

    def get_back_url(self):
        return program_page_url(self.program.pk)

    def get_success_url(self):
        return reverse("training:plan", args=[self.program.pk])

    def get_context_data(self, **kwargs):
        return super().get_context_data(program=self.program, plan=program_plan(self.program), **kwargs)
