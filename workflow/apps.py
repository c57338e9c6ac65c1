from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WorkflowConfig(AppConfig):
    name = "workflow"
    verbose_name = _("Projects and lifecycle")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from ledger import machines
        from workflow import folds

        machines.register("workflow.grantproject", restores={"resume": "suspend"}, fold=folds.PROJECT)
        # Programs made before their changes were audited start their chain at their
        # first change (workflow.services.programs).
        machines.register("workflow.program", state_field="status", chain_may_start_later=True,
                          fold=folds.PROGRAM)
        # The grant flow registers its process model and follows project transitions
        # in every process: web server, Celery workers, management commands.
        from workflow import (
            flows,  # noqa: F401
            scopes,
        )

        scopes.register()
        register_screens()


def register_screens():
    """The screens of the file's own transitions, which its page offers when they may be
    taken (``workflow.actions``). The committee's, training's, funding's and follow-up's
    steps are offered by their apps and by the grant flow's tasks."""
    from workflow.actions import Screen, register_screen
    from workflow.views.actions import ACTION_VIEWS
    from workflow.views.submission import SUBMIT_CONFIRM

    register_screen("submit", Screen(_("Submit the application"), "projects:submit", confirm=SUBMIT_CONFIRM))
    # The grant flow's steps, each on its screen (the same ones the inbox opens).
    register_screen("screen_ok", Screen(_("Screen the file"), "projects:screen"))
    register_screen("schedule", Screen(_("Put on a committee agenda"), "committees:schedule"))
    register_screen("complete_training", Screen(_("Sign off the training"), "projects:training_signoff"))
    register_screen("launch", Screen(_("Launch the project"), "projects:launch"))
    register_screen("close", Screen(_("Close the project"), "followup:close"))
    for view in ACTION_VIEWS:
        register_screen(view.transition, view.screen())
    # After the steps forward: the page raises the first available action, and a
    # revised file's next step is its resubmission, not another edit.
    register_screen("edit", Screen(_("Edit the application"), "projects:edit"))
