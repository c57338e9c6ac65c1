from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = _("Notifications and deadlines")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # The lower apps' signals become notifications here (followup's visit_at_risk).
        from notifications import receivers  # noqa: F401

        # Each inbox row says whether its step is on time, reminded or escalated.
        from notifications.deadlines import annotate_deadline_states
        from workflow.inbox import ROW_ANNOTATORS

        if annotate_deadline_states not in ROW_ANNOTATORS:
            ROW_ANNOTATORS.append(annotate_deadline_states)
        # The program's page shows its time limits and the way to change them.
        from notifications.views_deadlines import deadlines_section
        from workflow import program_sections

        program_sections.register(deadlines_section)
