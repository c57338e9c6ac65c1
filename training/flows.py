"""The trainer's attendance, as a task (docs/workflow.md).

A training session becomes its trainer's task on its day: record who attended. The
session is not an audited state machine, so training's services tell the flow what
happened, inside their own transaction (``engine.follow``), as the ledger's signal does
for the audited ones.
"""

from datetime import datetime

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from viewflow import this
from viewflow.workflow import flow, lock

from training.models import TrainingSession
from workflow import engine
from workflow.engine import Step, Until, on_artifact


def _session_starts(activation):
    session = TrainingSession.objects.get(pk=activation.process.artifact_object_id)
    return timezone.make_aware(datetime.combine(session.date, session.start_time))


@engine.register_flow
class TrainingSessionFlow(flow.Flow):
    """Training session

    One session of a program's training plan: its trainer records the attendance once
    it has begun.
    """

    process_title = _("Training session")
    lock_impl = lock.select_for_update_lock
    process_summary_template = "{{ process.data.reference }}"

    artifact_model = TrainingSession
    STARTED_BY = ("create",)
    ABORTED_BY = ()

    start = flow.StartHandle(engine.start_process).Next(this.until_held)
    until_held = (
        Until(_session_starts, done_by=("record_attendance",))
        .Annotation(title=_("Until the session begins"))
        .Next(this.attendance)
    )
    attendance = (
        Step(screen=on_artifact("training:attendance"), done_by=("record_attendance",))
        .Annotation(title=_("Record the attendance"), summary_template="{{ process.data.reference }}")
        .Permission("training.add_attendancerecord")
        .Assign(this.sessions_trainer)
        .Next(this.end)
    )
    end = flow.End().Annotation(title=_("Attendance recorded"))

    @staticmethod
    def process_data(session):
        return {"reference": f"{session.module} — {session.date:%d/%m/%Y}", "program_id": session.program_id}

    @staticmethod
    def describe_tasks(tasks):
        engine.describe_with(
            tasks, TrainingSession, related=("module", "program"),
            subject=lambda s: f"{s.module} — {s.date:%d/%m/%Y} {s.start_time:%H:%M} — {s.place}",
            program=lambda s: s.program,
        )

    @staticmethod
    def backfill(session):
        """A session made before this flow (``flows_sync``): no ledger to replay, so its
        creation, and its attendance if recorded, are reported as they happened."""
        follow(session, "create", session.created_by)
        if session.attendance.exists():
            follow(session, "record_attendance", session.trainer)

    def sessions_trainer(self, activation):
        session = TrainingSession.objects.select_related("trainer").get(pk=activation.process.artifact_object_id)
        trainer = session.trainer
        return trainer if trainer is not None and trainer.is_active else None

    def has_view_permission(self, user, obj=None):
        return user.is_authenticated and user.has_perm("training.view_trainingsession")


def follow(session, event, actor):
    """What training's services report, inside their transaction."""
    engine.follow(TrainingSessionFlow, session, event, actor, "")
