from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FollowupConfig(AppConfig):
    name = "followup"
    verbose_name = _("Post-launch follow-up")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from followup import folds
        from ledger import machines

        machines.register("followup.followupvisit", fold=folds.VISIT)
        # The grant flow's launch step calls this app's service.
        from followup.services import project_launch
        from workflow import task_services

        task_services.register(task_services.LAUNCH, project_launch)
        # The closure step's inbox row says what the latest visit found at risk.
        from followup.selectors import annotate_risk
        from workflow.flows import PROJECT_ANNOTATORS

        if annotate_risk not in PROJECT_ANNOTATORS:
            PROJECT_ANNOTATORS.append(annotate_risk)
        # The visits' flow follows their transitions in every process.
        # A mentor reports on the visits of the files they follow (core.scopes).
        from core import scopes
        from followup import flows  # noqa: F401
        from followup.plan import NotAssignedMentor

        scopes.register("followup.followupvisit", limits={"mentor": lambda user, v, perm: v.mentor_id == user.pk},
                        message=NotAssignedMentor.default_message, code=NotAssignedMentor.code)
