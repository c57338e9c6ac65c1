"""The program's training plan, as a section of the program's page (workflow's
``program_sections``, registered in ``TrainingConfig.ready``)."""

from django.urls import reverse
from django.utils.translation import gettext

from core.actions import Action
from training.selectors import program_plan
from workflow.program_sections import ProgramSection


def training_section(program, user) -> ProgramSection | None:
    """The program's modules (planned hours, mandatory) and its attendance threshold;
    for those who configure the plan, the way to set a module."""
    if not user.has_perm("training.view_programmodule"):
        return None
    actions = ()
    if user.has_perm("training.add_programmodule"):
        actions = (Action("plan_module", gettext("Set a module of the plan"),
                          reverse("training:plan", args=[program.pk])),)
    return ProgramSection(key="training", title=gettext("Training plan"),
                          template_name="training/includes/program_plan.html",
                          context={"plan": program_plan(program), "threshold": program.training_threshold},
                          actions=actions, order=20)
