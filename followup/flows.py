"""The mentor's follow-up visits, as tasks (docs/workflow.md).

Each planned visit waits until shortly before its due date
(``TAMKEEN_VISIT_TASK_LEAD_DAYS``), then appears in the inbox of the file's mentor
(any mentor may take it when the file has none), and is done when the visit's report
is recorded — earlier reports end the wait at once. A visit cancelled at the project's
closure cancels its task.
"""

from datetime import datetime, time, timedelta

from django.conf import settings
from django.dispatch import receiver
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from viewflow import this
from viewflow.workflow import flow, lock

from followup.models import FollowUpVisit
from ledger.signals import transition_applied
from workflow import engine
from workflow.engine import Step, Until, on_artifact


def _visit_task_from(activation):
    due_on = FollowUpVisit.objects.values_list("due_on", flat=True).get(pk=activation.process.artifact_object_id)
    lead = timedelta(days=settings.TAMKEEN_VISIT_TASK_LEAD_DAYS)
    return timezone.make_aware(datetime.combine(due_on, time.min)) - lead


@engine.register_flow
class VisitFlow(flow.Flow):
    """Follow-up visit

    One planned visit of a launched project: the mentor's task from shortly before its
    due date until the report is recorded.
    """

    process_title = _("Follow-up visit")
    lock_impl = lock.select_for_update_lock
    process_summary_template = "{{ process.data.reference }}"

    artifact_model = FollowUpVisit
    STARTED_BY = ("create",)
    ABORTED_BY = ("cancel",)

    start = flow.StartHandle(engine.start_process).Next(this.until_due)
    until_due = (
        Until(_visit_task_from, done_by=("report_visit",))
        .Annotation(title=_("Until the visit is due"))
        .Next(this.report)
    )
    report = (
        Step(screen=on_artifact("followup:report"), done_by=("report_visit",))
        .Annotation(title=_("Visit the project and report"), summary_template="{{ process.data.reference }}")
        .Permission("followup.report_visit")
        .Assign(this.visits_mentor)
        .Next(this.end)
    )
    end = flow.End().Annotation(title=_("Reported"))

    @staticmethod
    def process_data(visit):
        project = visit.project
        return {"reference": project.reference, "project_id": project.pk,
                "program_id": project.program_id, "due_on": visit.due_on.isoformat()}

    @staticmethod
    def describe_tasks(tasks):
        engine.describe_with(
            tasks, FollowUpVisit, related=("project", "project__program"),
            subject=lambda visit: _("%(project)s — visit %(n)s, due %(due)s") % {
                "project": visit.project, "n": visit.sequence, "due": visit.due_on.strftime("%d/%m/%Y")},
            program=lambda visit: visit.project.program,
        )

    def visits_mentor(self, activation):
        visit = FollowUpVisit.objects.select_related("mentor", "project__mentor").get(
            pk=activation.process.artifact_object_id)
        mentor = visit.mentor or visit.project.mentor
        if engine.holds(mentor, "followup.report_visit"):
            return mentor
        return None

    def has_view_permission(self, user, obj=None):
        return user.is_authenticated and user.has_perm("followup.view_followupvisit")


@receiver(transition_applied, sender=FollowUpVisit, dispatch_uid="followup.flows.visit")
def _follow_visit(sender, instance, transition, actor, to_state, **kwargs):
    engine.follow(VisitFlow, instance, transition, actor, to_state)
