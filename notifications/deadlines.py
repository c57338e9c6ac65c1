"""Deadlines of the human steps: which work is waiting, since when, who must do it, and
the reminders and escalations the beat tick sends when it waits too long.

| step | waiting work | counted from | assignee (reminder) |
|---|---|---|---|
| screening | project ``submitted`` | its last transition | the screening task's owner, else every program officer |
| scheduling | project ``eligible`` | its last transition | every program officer |
| training | project ``in_training`` | its last transition | the sign-off task's owner, else every program officer |
| authorization | disbursement ``requested`` | its request | every authorizing officer but the requester |
| release | disbursement ``authorized`` | its authorization | every treasurer but the requester and authorizer |
| visit | follow-up visit ``planned`` | its due date | the visit's mentor (the project's, else the officers) |

Escalations go to the program officers. "Counted from its last transition" is the time
of the project's latest audit entry (the one that put it in the state), so a file sent
back and resubmitted starts a new count, and a new reminder.

``deadlines_check`` writes only notifications, each created at most once (its
``dedupe_key`` is unique): running it twice, or on two workers at once, reminds once.
"""

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from django.contrib.auth import get_user_model
from django.db.models import CharField, OuterRef, Subquery
from django.db.models.functions import Cast
from django.urls import reverse
from django.utils import timezone
from viewflow.workflow import STATUS

from core.roles import Role
from followup.models import FollowUpVisit, VisitState
from ledger.models import AuditEntry, entity_type_of
from notifications.models import DEFAULT_DEADLINES, NotificationKind, Step, StepDeadline
from notifications.services import notify
from workflow.models import GrantProject, ProjectState

# The project state each project step waits in, and the viewflow node whose owner, when
# one is assigned, is the person to remind.
PROJECT_STEPS = {
    ProjectState.SUBMITTED: (Step.SCREENING, "screening"),
    ProjectState.ELIGIBLE: (Step.SCHEDULING, None),
    ProjectState.IN_TRAINING: (Step.TRAINING, "training_signoff"),
}


@dataclass
class OpenStep:
    """One piece of waiting work."""

    step: str
    program_id: int
    since: datetime
    occurrence: str  # what waits, and since which transition: part of the dedupe key
    reference: str
    title: str
    link: str
    assignees: list = field(default_factory=list)


class Deadlines:
    """The time limits of every program, read once per tick."""

    def __init__(self):
        self._overrides = {
            (row.program_id, row.step): (row.remind_after_days, row.escalate_after_days)
            for row in StepDeadline.objects.all()
        }

    def of(self, program_id, step) -> tuple[int, int]:
        return self._overrides.get((program_id, step), DEFAULT_DEADLINES[Step(step)])

    def earliest_reminder(self, step) -> int:
        """The shortest reminder delay of ``step`` over every program: the pre-filter."""
        days = [r for (_p, s), (r, _e) in self._overrides.items() if s == step]
        return min([DEFAULT_DEADLINES[Step(step)][0], *days])


def deadlines_for(program) -> dict[str, tuple[int, int]]:
    """``{step: (remind_after_days, escalate_after_days)}`` in force for ``program``."""
    deadlines = Deadlines()
    return {step: deadlines.of(program.pk, step) for step in Step.values}


class Assignees:
    """Who holds each role, read once per tick."""

    def __init__(self):
        self._by_role = {}

    def of_role(self, role) -> list:
        if role not in self._by_role:
            self._by_role[role] = list(
                get_user_model().objects.filter(groups__name=role, is_active=True).distinct().order_by("pk")
            )
        return self._by_role[role]

    def officers(self) -> list:
        return self.of_role(Role.PROGRAM_OFFICER.value)


def _task_owners(node_name, project_ids) -> dict[int, object]:
    """``{project id: owner}`` of the open, assigned task ``node_name`` of each project."""
    from workflow.flows import GrantFlow, GrantProcess

    if not project_ids:
        return {}
    tasks = (
        GrantFlow.task_class._default_manager.filter(
            flow_task=getattr(GrantFlow, node_name), status=STATUS.ASSIGNED, owner__is_active=True,
            process__in=GrantProcess.objects.filter(artifact_object_id__in=project_ids),
        )
        .select_related("owner", "process")
    )
    return {task.process.artifact_object_id: task.owner for task in tasks}


def _project_steps(as_of, deadlines, assignees):
    last_transition = AuditEntry.objects.filter(
        entity_type=entity_type_of(GrantProject),
        entity_id=Cast(OuterRef("pk"), CharField()),
        seq=OuterRef("audit_seq"),
    ).values("created_at")[:1]
    for state, (step, node) in PROJECT_STEPS.items():
        threshold = as_of - timedelta(days=deadlines.earliest_reminder(step))
        projects = list(
            GrantProject.objects.filter(state=state)
            .annotate(since=Subquery(last_transition))
            .filter(since__lte=threshold)
            .only("pk", "program_id", "title", "audit_seq", "created_at")
            .order_by("pk")
        )
        owners = _task_owners(node, [p.pk for p in projects]) if node else {}
        for project in projects:
            owner = owners.get(project.pk)
            yield OpenStep(
                step=step, program_id=project.program_id, since=project.since,
                occurrence=f"{project.pk}.{project.audit_seq}", reference=project.reference,
                title=project.title, link=reverse("projects:detail", args=[project.pk]),
                assignees=[owner] if owner else assignees.officers(),
            )


def _disbursement_steps(as_of, deadlines, assignees):
    from disbursements.models import Disbursement

    waiting = (
        (Step.AUTHORIZATION, "requested", "requested_at", Role.AUTHORIZING_OFFICER, "funding:authorize"),
        (Step.RELEASE, "authorized", "authorized_at", Role.TREASURER, "funding:release"),
    )
    for step, state, since_field, role, url_name in waiting:
        threshold = as_of - timedelta(days=deadlines.earliest_reminder(step))
        disbursements = (
            Disbursement.objects.filter(state=state, **{f"{since_field}__lte": threshold})
            .select_related("project")
            .order_by("pk")
        )
        for disbursement in disbursements:
            # Separation of duties: nobody is asked to approve their own step.
            barred = {disbursement.requested_by_id, disbursement.authorized_by_id}
            yield OpenStep(
                step=step, program_id=disbursement.project.program_id,
                since=getattr(disbursement, since_field), occurrence=str(disbursement.pk),
                reference=disbursement.project.reference, title=disbursement.project.title,
                link=reverse(url_name, args=[disbursement.pk]),
                assignees=[u for u in assignees.of_role(role.value) if u.pk not in barred],
            )


def _visit_steps(as_of, deadlines, assignees):
    local_today = timezone.localtime(as_of).date()
    threshold = local_today - timedelta(days=deadlines.earliest_reminder(Step.VISIT))
    visits = (
        FollowUpVisit.objects.filter(
            state=VisitState.PLANNED, due_on__lte=threshold, project__state=ProjectState.LAUNCHED,
        )
        .select_related("project", "mentor", "project__mentor")
        .order_by("due_on", "pk")
    )
    for visit in visits:
        mentor = visit.mentor or visit.project.mentor
        since = timezone.make_aware(datetime.combine(visit.due_on, time.min))
        yield OpenStep(
            step=Step.VISIT, program_id=visit.project.program_id, since=since,
            occurrence=str(visit.pk), reference=visit.project.reference, title=visit.project.title,
            link=reverse("projects:detail", args=[visit.project_id]),
            assignees=[mentor] if mentor is not None and mentor.is_active else assignees.officers(),
        )


def open_steps(as_of):
    """Every piece of waiting work old enough for at least one program's reminder."""
    deadlines, assignees = Deadlines(), Assignees()
    for source in (_project_steps, _disbursement_steps, _visit_steps):
        for open_step in source(as_of, deadlines, assignees):
            yield open_step, deadlines.of(open_step.program_id, open_step.step), assignees


def deadlines_check(*, as_of=None) -> dict[str, int]:
    """Send the reminders and escalations due at ``as_of`` (default now) and return how
    many were created: ``{"reminders": n, "escalations": m}``.

    Idempotent: each (limit, step occurrence, recipient) is one notification with a
    unique key, so a second run, a redelivered task or a concurrent tick creates nothing
    more. Called by the beat task ``notifications.tasks.deadlines_tick``.
    """
    as_of = as_of or timezone.now()
    created = {"reminders": 0, "escalations": 0}
    for open_step, (remind_days, escalate_days), assignees in open_steps(as_of):
        waited = as_of - open_step.since
        context = {
            "step": Step(open_step.step).label, "reference": open_step.reference, "title": open_step.title,
            "since": timezone.localtime(open_step.since), "days": waited.days,
            "remind_days": remind_days, "escalate_days": escalate_days, "is_visit": open_step.step == Step.VISIT,
        }
        if waited >= timedelta(days=remind_days):
            kind = NotificationKind.VISIT_DUE if open_step.step == Step.VISIT else NotificationKind.REMINDER
            for recipient in open_step.assignees:
                created["reminders"] += bool(notify(
                    recipient=recipient, kind=kind, template="deadline_reminder", context=context,
                    link=open_step.link,
                    dedupe_key=f"reminder:{open_step.step}:{open_step.occurrence}:u{recipient.pk}",
                ))
        if waited >= timedelta(days=escalate_days):
            context["assignees"] = ", ".join(
                u.get_full_name() or u.get_username() for u in open_step.assignees
            )
            for recipient in assignees.officers():
                created["escalations"] += bool(notify(
                    recipient=recipient, kind=NotificationKind.ESCALATION, template="deadline_escalation",
                    context=context, link=open_step.link,
                    dedupe_key=f"escalation:{open_step.step}:{open_step.occurrence}:u{recipient.pk}",
                ))
    return created
