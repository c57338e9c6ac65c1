"""The committee's work on one session, as tasks (docs/workflow.md).

A planned session waits for the program officer's preparation (its agenda — each
file put on it by the file's own "put on an agenda" step — and its attendance) and for
the chair, who opens it. Once open, each member present has a ballot (declare an
interest and vote on every file), and the chair confirms the decisions and closes
the session. The closed session's minutes wait for each member present to confirm
them.

Steps are completed by the session's transitions, in their own transaction
(``workflow.engine``); a member's ballot ends when that member has declared an
interest in, or voted on, every file of the agenda.
"""

from django.contrib.auth import get_user_model
from django.dispatch import receiver
from django.utils.translation import gettext_lazy as _
from viewflow import this
from viewflow.workflow import flow, lock

from approvals.models import (
    AgendaItem,
    Attendance,
    CommitteeMember,
    CommitteeSession,
    InterestDeclaration,
    Vote,
)
from ledger.signals import transition_applied
from workflow import engine
from workflow.engine import SplitEach, Step, on_artifact


def _present_members(activation):
    present = (Attendance.objects.filter(session_id=activation.process.artifact_object_id, present=True)
               .order_by("user_id").values_list("user_id", flat=True))
    return [{"user_id": user_id} for user_id in present]


@engine.register_flow
class SessionFlow(flow.Flow):
    """Committee session

    One committee session: prepared by the program officer, opened by the chair,
    deliberated by the members present (one ballot each), closed by the chair, its
    minutes confirmed by each member present.
    """

    process_title = _("Committee session")
    lock_impl = lock.select_for_update_lock
    process_summary_template = "{{ process.data.reference }}"

    artifact_model = CommitteeSession
    STARTED_BY = ("create",)
    ABORTED_BY = ()

    start = flow.StartHandle(engine.start_process).Next(this.preparing)
    preparing = flow.Split().Annotation(title=_("Preparation")).Next(this.preparation).Next(this.opening)
    preparation = (
        Step(screen=on_artifact("committees:agenda"), done_by=("record_attendance", "open"))
        .Annotation(title=_("Prepare the session: agenda and attendance"),
                    summary_template="{{ process.data.reference }}")
        .Permission("approvals.manage_session")
        .Assign(this.session_creator)
        .Next(this.prepared)
    )
    opening = (
        Step(screen=on_artifact("committees:console"), done_by=("open",))
        .Annotation(title=_("Open the session"), summary_template="{{ process.data.reference }}")
        .Permission("approvals.chair_session")
        .Assign(this.committee_chair)
        .Next(this.prepared)
    )
    prepared = flow.Join().Annotation(title=_("Session open")).Next(this.deliberation)
    deliberation = (
        SplitEach()
        .Annotation(title=_("Deliberation"))
        .Next(this.closing)
        .Each(this.ballot, _present_members)
    )
    ballot = (
        Step(screen=on_artifact("committees:member"), done_by=("ballot_complete", "close"),
             owner_only=("ballot_complete",))
        .Annotation(title=_("Declare your interests and vote"), summary_template="{{ process.data.reference }}")
        .Permission("approvals.vote_session")
        .Assign(this.member_of_the_task)
        .Next(this.deliberated)
    )
    closing = (
        Step(screen=on_artifact("committees:console"), done_by=("close",))
        .Annotation(title=_("Confirm the decisions and close the session"),
                    summary_template="{{ process.data.reference }}")
        .Permission("approvals.chair_session")
        .Assign(this.committee_chair)
        .Next(this.deliberated)
    )
    deliberated = flow.Join().Annotation(title=_("Session closed")).Next(this.minutes)
    minutes = (
        SplitEach()
        .Annotation(title=_("Minutes"))
        .Next(this.minutes_confirmed)
        .Each(this.minutes_confirmation, _present_members)
    )
    minutes_confirmation = (
        Step(screen=on_artifact("committees:confirm_minutes"), done_by=("confirm_minutes",),
             owner_only=("confirm_minutes",))
        .Annotation(title=_("Confirm the minutes"), summary_template="{{ process.data.reference }}")
        .Permission("approvals.vote_session")
        .Assign(this.member_of_the_task)
        .Next(this.minutes_confirmed)
    )
    minutes_confirmed = flow.Join().Annotation(title=_("Minutes confirmed")).Next(this.end)
    end = flow.End().Annotation(title=_("Done"))

    @staticmethod
    def process_data(session):
        return {"reference": session.title, "program_id": session.committee.program_id}

    @staticmethod
    def describe_tasks(tasks):
        engine.describe_with(tasks, CommitteeSession, related=("committee", "committee__program"),
                             subject=lambda session: f"{session.title} — {session.scheduled_for:%d/%m/%Y %H:%M}",
                             program=lambda session: session.committee.program)

    def session_creator(self, activation):
        session = CommitteeSession.objects.select_related("created_by").get(pk=activation.process.artifact_object_id)
        user = session.created_by
        return user if engine.holds(user, "approvals.manage_session") else None

    def committee_chair(self, activation):
        session = CommitteeSession.objects.get(pk=activation.process.artifact_object_id)
        seat = (CommitteeMember.objects.filter(committee_id=session.committee_id, role=CommitteeMember.Role.CHAIR,
                                               is_active=True).select_related("user").first())
        return seat.user if seat is not None and seat.user.is_active else None

    def member_of_the_task(self, activation):
        user_id = (activation.task.data or {}).get("user_id")
        return get_user_model().objects.filter(pk=user_id, is_active=True).first()

    def has_view_permission(self, user, obj=None):
        return user.is_authenticated and user.has_perm("approvals.view_committeesession")


def ballot_complete(session_id, user_id) -> bool:
    """Whether the member has declared a conflict on, or voted on, every file of the agenda."""
    items = set(AgendaItem.objects.filter(session_id=session_id, removed=False).values_list("pk", flat=True))
    voted = set(Vote.objects.filter(item_id__in=items, user_id=user_id).values_list("item_id", flat=True))
    conflicted = set(InterestDeclaration.objects.filter(item_id__in=items, user_id=user_id, has_conflict=True)
                     .values_list("item_id", flat=True))
    return bool(items) and items <= voted | conflicted


@receiver(transition_applied, sender=CommitteeSession, dispatch_uid="approvals.flows.session")
def _follow_session(sender, instance, transition, actor, to_state, **kwargs):
    engine.follow(SessionFlow, instance, transition, actor, to_state)
    if transition in ("cast_vote", "declare_interest") and actor is not None and ballot_complete(instance.pk, actor.pk):
        engine.follow(SessionFlow, instance, "ballot_complete", actor, to_state)
