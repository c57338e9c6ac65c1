from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WorkflowConfig(AppConfig):
    name = "workflow"
    verbose_name = _("Projects and lifecycle")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from ledger import machines

        machines.register("workflow.grantproject", restores={"resume": "suspend"})
        # Programs made before their changes were audited start their chain at their
        # first change (workflow.services.programs).
        machines.register("workflow.program", state_field="status", chain_may_start_later=True)
        # The grant flow registers its process model and follows project transitions
        # in every process: web server, Celery workers, management commands.
        from workflow import flows  # noqa: F401
