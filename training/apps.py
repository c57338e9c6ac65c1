from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TrainingConfig(AppConfig):
    name = "training"
    verbose_name = _("Training")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # The grant flow's training sign-off step calls this app's service.
        from training.services import project_complete_training
        from workflow import task_services

        task_services.register(task_services.TRAINING_SIGNOFF, project_complete_training)
        # The program's page shows its training plan.
        from training.program_page import training_section
        from workflow import program_sections

        program_sections.register(training_section)
        # The sessions' flow (the trainer's attendance task).
        # A trainer acts on their own sessions (core.scopes).
        from core import scopes
        from training import flows  # noqa: F401

        scopes.register("training.trainingsession", limits={"trainer": lambda user, s, perm: s.trainer_id == user.pk},
                        message=_("This training session is not one of yours."), code="not_your_session")
