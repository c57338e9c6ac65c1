"""How the flows run people's work: steps done on their screens, completed by the
transition they wait for, in that transition's transaction.

A flow (``GrantFlow``, and the committee's, the purchase orders' and the
disbursements' flows of the apps above) follows one **artifact** — a file, a session,
an order, a disbursement. Each of its human nodes is a ``Step``: a task in the inbox
of the role (or the person) who takes it, whose screen is the artifact's own screen for
that action. The screen calls the service that owns the transition; the service
applies it and the ledger sends ``transition_applied`` inside the same transaction;
``follow`` then completes every open step that the transition finishes (on behalf of
whoever made it, whatever screen, command or API call it came from) and creates the
next ones. Nothing is advanced after commit: when following fails, the transition
rolls back with it.

``Wait`` is a node that no person takes (the committee's decision at the close of a
session, the last order received): it is completed the same way.

Each flow class declares:

- ``artifact_model`` — the model it follows;
- ``STARTED_BY`` — the transitions that start a process when the artifact has none;
- ``ABORTED_BY`` — the transitions that cancel the process;
- ``process_data(artifact)`` — what the process stores for the inbox's filters
  (``project_id``, ``program_id``);
- ``describe_tasks(tasks)`` — fills each task's ``subject`` and ``url`` for the inbox, in
  a constant number of queries.
"""

from __future__ import annotations

import functools

from django.contrib.contenttypes.models import ContentType
from django.shortcuts import redirect
from django.urls import reverse
from django.views import View as DjangoView
from viewflow.workflow import PROCESS, STATUS, flow
from viewflow.workflow.activation import Activation
from viewflow.workflow.exceptions import FlowRuntimeError
from viewflow.workflow.nodes.split import SplitActivation

OPEN = (STATUS.NEW, STATUS.ASSIGNED)

_FLOWS: list = []


def register_flow(flow_class):
    """Make ``flow_class``'s tasks part of every inbox (called where it is defined)."""
    if flow_class not in _FLOWS:
        _FLOWS.append(flow_class)
    return flow_class


def registered_flows() -> list:
    return list(_FLOWS)


class StepRedirectView(DjangoView):
    """viewflow's URLs of a step's task (its index, its execute) send the user to the
    step's screen while it is open — where the service decides — and to the task's
    history page once it is done."""

    def get(self, request, *args, **kwargs):
        task = request.activation.task
        if task.status in OPEN:
            return redirect(task.flow_task.screen_for(task))
        return redirect(task.flow_task.reverse("detail", args=[task.process_id, task.pk]))

    post = get


def _no_one(process):
    return ()


def on_artifact(url_name):
    """A step's screen: ``url_name`` reversed with the id of the process's artifact."""
    def screen(task):
        return reverse(url_name, args=[task.process.artifact_object_id])

    return screen


class Titled:
    """A node named by its title: viewflow prints a node as its attribute name in title
    case ("Start", "Agenda") on the process and task pages, in English whatever the
    language; a titled node prints its translated title instead."""

    def __str__(self) -> str:
        return str(self.task_title) if self.task_title else super().__str__()


class Start(Titled, flow.StartHandle):
    pass


class Switch(Titled, flow.Switch):
    pass


class End(Titled, flow.End):
    pass


class Step(Titled, flow.View):
    """A step a person takes, on ``screen(task)``, finished by one of ``done_by``.

    ``Exclude(func)``: ``func(process)`` returns the ids of the users who may not take
    the step (separation of duties: who requested may not authorize); they neither see
    it in their inbox nor can claim it. The service refuses them too: this is the
    inbox's side of a rule the database and the service enforce.
    """

    index_view_class = StepRedirectView

    def __init__(self, *, screen, done_by, owner_only=(), **kwargs):
        super().__init__(StepRedirectView.as_view(), **kwargs)
        self._screen = screen
        self.done_by = tuple(done_by)
        # Transitions that finish the step only when its own assignee makes them (each
        # member's ballot ends with that member's last vote, not another's).
        self.owner_only = tuple(owner_only)
        self._excluded = _no_one

    def Exclude(self, func):  # noqa: N802 — viewflow's builder style
        self._excluded = func
        return self

    def screen_for(self, task) -> str:
        return self._screen(task)

    def excluded_users(self, process) -> set:
        return set(self._excluded(process))

    def can_assign(self, user, task):
        return super().can_assign(user, task) and user.pk not in self.excluded_users(task.process)

    def can_execute(self, user, task):
        return super().can_execute(user, task) and user.pk not in self.excluded_users(task.process)


class Wait(Titled, flow.Handle):
    """A node no person takes: completed by one of ``done_by``, like a step."""

    def __init__(self, *, done_by, **kwargs):
        super().__init__(_record, **kwargs)
        self.done_by = tuple(done_by)


class SplitEachActivation(SplitActivation):
    @Activation.status.super()
    def activate(self):
        for node, condition, data_source in self.flow_task._branches:
            if condition and not condition(self):
                continue
            if data_source is None:
                self.next_tasks.append((node, None))
            else:
                self.next_tasks.extend((node, item) for item in data_source(self))
        if not self.next_tasks:
            raise FlowRuntimeError(f"No next task available for {self.flow_task.name}")


class SplitEach(flow.Split):
    """A parallel split that can open one task of a node per item of a list: one
    ballot per member present, each assigned to its member (``task.data`` is the item)."""

    activation_class = SplitEachActivation

    def Each(self, node, data_source):  # noqa: N802 — viewflow's builder style
        self._activate_next.append((node, None, data_source))
        return self


def _finishes(task, transition, actor) -> bool:
    node = task.flow_task
    if transition not in getattr(node, "done_by", ()):
        return False
    return transition not in getattr(node, "owner_only", ()) or (actor is not None and task.owner_id == actor.pk)


class Until(flow.Timer):
    """Wait until a moment (``until(activation) -> datetime``), then go on — or sooner,
    when one of ``done_by`` happens first (a visit reported before it was due).

    viewflow fires due timers when ``fire_due_timers`` runs: the beat does it every
    minute (``workflow.tasks.fire_due_timers``)."""

    def __init__(self, until, *, done_by=(), **kwargs):
        super().__init__(until, **kwargs)
        self.done_by = tuple(done_by)


def _record(activation, transition, actor, state):
    activation.task.owner = actor
    activation.task.data = {**(activation.task.data or {}), "transition": transition, "state": state}
    return activation.process


def holders(perm):
    """The active users holding ``perm`` ("app.codename") through a role, a permission of
    their own, or as superusers: who may take a step that asks for it."""
    from django.contrib.auth import get_user_model
    from django.db.models import Q

    app_label, codename = perm.split(".")
    return get_user_model().objects.filter(
        Q(groups__permissions__content_type__app_label=app_label, groups__permissions__codename=codename)
        | Q(user_permissions__content_type__app_label=app_label, user_permissions__codename=codename)
        | Q(is_superuser=True),
        is_active=True,
    ).distinct()


def holds(user, perm) -> bool:
    """Whether ``user`` may be assigned a step asking for ``perm`` (one query, where
    ``has_perm`` on a fresh user reads all their permissions)."""
    return user is not None and user.is_active and holders(perm).filter(pk=user.pk).exists()


def describe_with(tasks, model, *, related=(), subject, program):
    """The common ``describe_tasks`` of a flow: read the page's artifacts in one query and
    give each task its ``subject(artifact)``, ``program(artifact)`` label and screen."""
    found = model.objects.select_related(*related).in_bulk({task.process.artifact_object_id for task in tasks})
    for task in tasks:
        artifact = found.get(task.process.artifact_object_id)
        task.subject = subject(artifact) if artifact else task.process.data.get("reference", "")
        task.program_label = program(artifact) if artifact else ""
        task.screen_url = task.flow_task.screen_for(task)


# --- processes of an artifact ---------------------------------------------------------


def processes_of(flow_class, artifact):
    return flow_class.process_class._default_manager.filter(
        flow_class=flow_class,
        artifact_content_type=ContentType.objects.get_for_model(type(artifact)),
        artifact_object_id=artifact.pk,
    )


def process_of(flow_class, artifact):
    """The artifact's process in ``flow_class`` (one per artifact), or ``None``."""
    return processes_of(flow_class, artifact).order_by("pk").first()


def start(flow_class, artifact, actor):
    """Start ``flow_class``'s process for ``artifact`` (its ``start`` StartHandle)."""
    return flow_class.start.run(artifact=artifact, actor=actor)


def start_process(activation, artifact, actor):
    """The ``start`` node's callback of every artifact flow."""
    process = activation.process
    process.artifact = artifact
    process.data = {**process.flow_class.process_data(artifact)}
    activation.task.owner = actor if actor is not None and actor.pk else None
    return process


def complete(task, transition, actor, state):
    """Complete the open ``task`` on behalf of ``actor``: ``transition`` finished it."""
    node = task.flow_task
    if isinstance(node, flow.Handle):
        node.run(task, transition=transition, actor=actor, state=state)
        return
    if isinstance(node, flow.Timer):
        with node.flow_class.lock(task.process_id):
            task.refresh_from_db()
            if task.status == STATUS.SCHEDULED:
                activation = node.activation_class(task)
                activation.start()
                activation.execute()
        return
    with node.flow_class.lock(task.process_id):
        task.refresh_from_db()
        activation = node.activation_class(task)
        if task.status not in OPEN:
            return
        if task.status == STATUS.NEW:
            activation.assign(actor)
        activation.start(None)
        task.data = {**(task.data or {}), "transition": transition, "state": state}
        activation.execute()


@functools.cache
def _followed(flow_class) -> frozenset:
    """The transitions ``flow_class`` reacts to: the others cost no query."""
    done_by = {t for node in flow_class.instance.nodes() for t in getattr(node, "done_by", ())}
    return frozenset({*flow_class.STARTED_BY, *flow_class.ABORTED_BY, *done_by})


def follow(flow_class, artifact, transition, actor, state):
    """Make ``flow_class``'s process of ``artifact`` match ``transition``, just applied
    in the current transaction."""
    if transition not in _followed(flow_class):
        return None
    if transition == "create" and transition in flow_class.STARTED_BY:
        return start(flow_class, artifact, actor)  # a new artifact has no process yet
    process = process_of(flow_class, artifact)
    if process is None:
        if transition in flow_class.STARTED_BY:
            return start(flow_class, artifact, actor)
        return None
    if process.status != PROCESS.NEW:
        return process
    if transition in flow_class.ABORTED_BY:
        cancel(process, transition)
        return process
    # A transition may finish a step and, through the nodes it opens, the next ones
    # too (``equipment_received`` made by a command finishes the procurement steps
    # before the equipment check): complete until no open step waits for it.
    completed = set()
    while True:
        task = next((
            task for task in process.task_set.filter(status__in=(*OPEN, STATUS.SCHEDULED)).order_by("pk")
            if task.pk not in completed and _finishes(task, transition, actor)
        ), None)
        if task is None:
            return process
        completed.add(task.pk)
        complete(task, transition, actor, state)
        if transition not in _finishing_several(flow_class):
            return process


@functools.cache
def _finishing_several(flow_class) -> frozenset:
    """The transitions that finish more than one node (``equipment_received`` made by a
    command, a session's close ending its ballots): only these make ``follow`` look
    again after a completion."""
    seen, several = set(), set()
    for node in flow_class.instance.nodes():
        for transition in getattr(node, "done_by", ()):
            (several if transition in seen else seen).add(transition)
    return frozenset(several)


def cancel(process, reason):
    process.data = {**(process.data or {}), "aborted_by": reason}
    process.save(update_fields=["data"])
    process.flow_class.instance.cancel(process)


# --- a file's processes: its own, its orders', its disbursements' -----------------------


def file_processes(project_id):
    """The running processes of every flow about file ``project_id`` (each stores it
    in its ``data``)."""
    from viewflow.workflow.models import Process

    return Process.objects.filter(status=PROCESS.NEW, data__project_id=project_id).order_by("pk")


def pause_file(project_id, reason):
    for process in file_processes(project_id):
        pause(process, reason)


def resume_file(project_id):
    for process in file_processes(project_id):
        resume(process)


def cancel_file(project_id, reason):
    for process in file_processes(project_id):
        cancel(process, reason)


# --- pausing (a suspended file) ---------------------------------------------------------


def pause(process, reason):
    """Cancel ``process``'s open tasks, marked to come back on ``resume``."""
    with process.flow_class.lock(process.pk):
        for task in process.task_set.filter(status__in=OPEN):
            activation = task.flow_task.activation_class(task)
            task.data = {**(task.data or {}), "paused_by": reason}
            activation.cancel()


def resume(process):
    """Recreate the tasks ``pause`` cancelled, each as new as it was (its assignee and
    permission computed again: the person may have left the role)."""
    with process.flow_class.lock(process.pk):
        paused = process.task_set.filter(status=STATUS.CANCELED, data__has_key="paused_by")
        for task in paused.exclude(data__has_key="resumed"):
            task.data = {**task.data, "resumed": True}
            task.save(update_fields=["data"])
            node = task.flow_task
            data = {k: v for k, v in task.data.items() if k not in ("paused_by", "resumed")}
            # Creating it is all: a step waits for its person, a wait for its transition.
            node.activation_class.create(node, node.activation_class(task), task.token, data=data)

