from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ApprovalsConfig(AppConfig):
    name = "approvals"
    verbose_name = _("Committee review")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from approvals import folds
        from ledger import machines

        machines.register("approvals.committeesession", fold=folds.SESSION)
        # The committee's facts the project's transitions accept (workflow.facts).
        from approvals import facts

        facts.register()
        # The sessions' flow follows their transitions in every process.
        from approvals import flows  # noqa: F401

        # The program's page shows its committees.
        from approvals.program_page import committees_section
        from workflow import program_sections

        program_sections.register(committees_section)
        # Members and chairs act on their own committee's sessions (core.scopes).
        from approvals.scopes import register_scopes

        register_scopes()
