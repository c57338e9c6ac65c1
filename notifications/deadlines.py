"""Deadlines of the people's steps: the open tasks of the flows, how long each has
waited, who must take it, and the reminders and escalations the beat tick sends when
it waits too long.

| step | the open task | counted from | reminded |
|---|---|---|---|
| screening | ``GrantFlow.screening`` | the task's creation | its assignee, else whoever may take it |
| scheduling | ``GrantFlow.agenda`` | the task's creation | idem |
| training | ``GrantFlow.training_signoff`` | the task's creation | idem |
| authorization | ``DisbursementFlow.authorization`` | the task's creation | idem, never the requester |
| release | ``DisbursementFlow.release`` | the task's creation | idem, never the requester or the authorizer |
| visit | ``VisitFlow.report`` | the visit's due date | the visit's mentor, else whoever may take it |

"Whoever may take it" are the active users holding the permission the task asks for,
minus those its flow excludes (separation of duties). Escalations go to the program
officers. A file sent back and screened again has a new task, so a new count and a new
reminder; a task done, paused (suspended file) or cancelled is reminded no more.

``deadlines_check`` writes only notifications, each created at most once (its
``dedupe_key`` is unique): running it twice, or on two workers at once, reminds once.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.contrib.auth import get_user_model
from django.utils import timezone
from viewflow.workflow import PROCESS
from viewflow.workflow.models import Task

from core.roles import Role
from notifications.models import DEFAULT_DEADLINES, NotificationKind, Step, StepDeadline
from notifications.services import notify
from workflow.engine import holders


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
    task_id: int | None = None
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

    def holding(self, permission) -> list:
        """Whoever may take a task asking for ``permission`` (``workflow.engine.holders``)."""
        if not permission:
            return []
        key = ("perm", permission)
        if key not in self._by_role:
            self._by_role[key] = list(holders(permission).order_by("pk"))
        return self._by_role[key]


def deadline_nodes() -> dict:
    """``{flow node: deadline step}`` of the steps that have a deadline."""
    from disbursements.flows import DisbursementFlow
    from followup.flows import VisitFlow
    from workflow.flows import GrantFlow

    return {
        GrantFlow.screening: Step.SCREENING, GrantFlow.agenda: Step.SCHEDULING,
        GrantFlow.training_signoff: Step.TRAINING, DisbursementFlow.authorization: Step.AUTHORIZATION,
        DisbursementFlow.release: Step.RELEASE, VisitFlow.report: Step.VISIT,
    }


def task_since(task, step) -> datetime:
    """When the wait of ``task`` began: a visit is due on its date, a step waits from
    the moment it was opened."""
    if step == Step.VISIT and (task.process.data or {}).get("due_on"):
        due_on = date.fromisoformat(task.process.data["due_on"])
        return timezone.make_aware(datetime.combine(due_on, time.min))
    return task.created


ON_TIME, REMINDED, ESCALATED = "on_time", "reminded", "escalated"


def annotate_deadline_states(tasks, *, as_of=None) -> None:
    """Set each task's ``deadline_state`` (on time, reminded or escalated: what its wait
    is past) for the steps that have a deadline; one query for the programs' limits."""
    nodes = deadline_nodes()
    if not any(task.flow_task in nodes for task in tasks):
        return
    as_of = as_of or timezone.now()
    deadlines = Deadlines()
    for task in tasks:
        step = nodes.get(task.flow_task)
        if step is None:
            continue
        remind, escalate = deadlines.of((task.process.data or {}).get("program_id"), step)
        waited = as_of - task_since(task, step)
        task.deadline_state = (ESCALATED if waited >= timedelta(days=escalate)
                               else REMINDED if waited >= timedelta(days=remind) else ON_TIME)


def _task_steps(as_of, deadlines, assignees):
    from workflow.engine import OPEN

    for node, step in deadline_nodes().items():
        # A visit's task opens before its due date: its age says nothing.
        threshold = as_of if step == Step.VISIT else as_of - timedelta(days=deadlines.earliest_reminder(step))
        tasks = list(
            Task.objects.filter(flow_task=node, status__in=OPEN, process__status=PROCESS.NEW,
                                created__lte=threshold)
            .select_related("process", "owner").order_by("created", "pk")
        )
        if not tasks:
            continue
        node.flow_class.describe_tasks(tasks)
        for task in tasks:
            since = task_since(task, step)
            if since > as_of:
                continue
            owner = task.owner if task.owner_id and task.owner.is_active else None
            excluded = node.excluded_users(task.process)
            yield OpenStep(
                step=step, program_id=(task.process.data or {}).get("program_id"), since=since,
                occurrence=f"task{task.pk}", reference=(task.process.data or {}).get("reference", ""),
                title=str(task.subject),
                link=task.screen_url, task_id=task.pk,
                assignees=[owner] if owner else [
                    user for user in assignees.holding(task.owner_permission) if user.pk not in excluded],
            )


def open_steps(as_of):
    """Every piece of waiting work old enough for at least one program's reminder."""
    deadlines, assignees = Deadlines(), Assignees()
    for open_step in _task_steps(as_of, deadlines, assignees):
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
        # Codes and numbers only: the message is rendered in its reader's language.
        params = {
            "step": open_step.step, "task": open_step.task_id, "reference": open_step.reference,
            "since": open_step.since.isoformat(), "days": waited.days,
            "remind_days": remind_days, "escalate_days": escalate_days,
        }
        if waited >= timedelta(days=remind_days):
            kind = NotificationKind.VISIT_DUE if open_step.step == Step.VISIT else NotificationKind.REMINDER
            for recipient in open_step.assignees:
                created["reminders"] += bool(notify(
                    recipient=recipient, kind=kind, template="deadline_reminder", params=params,
                    link=open_step.link,
                    dedupe_key=f"reminder:{open_step.step}:{open_step.occurrence}:u{recipient.pk}",
                ))
        if waited >= timedelta(days=escalate_days):
            params = {**params, "assignees": [user.pk for user in open_step.assignees]}
            for recipient in assignees.officers():
                created["escalations"] += bool(notify(
                    recipient=recipient, kind=NotificationKind.ESCALATION, template="deadline_escalation",
                    params=params, link=open_step.link,
                    dedupe_key=f"escalation:{open_step.step}:{open_step.occurrence}:u{recipient.pk}",
                ))
    return created
