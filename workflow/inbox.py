"""What waits for a person: the open tasks of every flow they may take.

A task is in ``user``'s inbox when it is open (new or assigned), its process runs,
and either it is assigned to ``user`` or it is unassigned and ``user`` holds the
permission it asks for — unless a flow excludes ``user`` from it (separation of
duties: whoever requested a disbursement does not see its authorization).

"Assigned to me OR claimable by my permissions" as one condition makes PostgreSQL scan
every open task of every flow; the inbox is instead two lists, "assigned to me" then
"claimable by my roles" (``inbox_segments``), each one query that an index of
``viewflow_task`` serves (workflow migration 0019), paged together on (created, pk)
by ``core.pagination``. A page costs at most one query per list and a capped count,
whatever the number of tasks; each flow then describes its page's rows in a constant
number of queries.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from django.db.models import Case, IntegerField, Q, Value, When
from viewflow.workflow import PROCESS
from viewflow.workflow.models import Task

from core.pagination import keyset_page
from core.views import with_next
from workflow.engine import OPEN, registered_flows


@dataclass(frozen=True)
class Kind:
    """One kind of task (a node of a flow) the inbox can filter on."""

    key: str
    label: str
    node: object


def kinds() -> list[Kind]:
    found = []
    for flow_class in registered_flows():
        for node in flow_class.instance.nodes():
            if hasattr(node, "screen_for"):
                key = f"{flow_class.__name__}.{node.name}"
                found.append(Kind(key=key, label=str(node.task_title or node.name), node=node))
    return found


def kind_of(key) -> Kind | None:
    return next((kind for kind in kinds() if kind.key == key), None)


# The inbox's sort key: oldest first, within "assigned to me" and then "claimable".
KEYS = ("created", "pk")
# The menu's badge counts up to this many tasks, then says "99+": an exact count of a
# national queue would read every open task on every page.
COUNT_CAP = 99


def task_permissions() -> frozenset | None:
    """The permissions the flows' tasks ask for (each node's ``.Permission(...)``), or
    None when a node computes its own. A person's permissions are intersected with them
    before they go into the inbox's query: an officer holds some 66 permissions, the
    tasks ask for about 20, and each value is one more parameter to prepare on every
    page. The flows are registered at start-up and never change, so this is computed
    once per process. (viewflow keeps the declared permission on the node, without a
    public accessor.)"""
    global _TASK_PERMISSIONS
    if _TASK_PERMISSIONS is _UNKNOWN:
        found = set()
        for flow_class in registered_flows():
            for node in flow_class.instance.nodes():
                permission = getattr(node, "_owner_permission", None)
                if permission is None:
                    continue
                if not isinstance(permission, str):
                    found = None
                    break
                found.add(permission)
            if found is None:
                break
        _TASK_PERMISSIONS = frozenset(found) if found is not None else None
    return _TASK_PERMISSIONS


_UNKNOWN = object()
_TASK_PERMISSIONS = _UNKNOWN


def claimable_permissions(user) -> list[str]:
    """The permissions by which ``user`` may claim an unassigned task, sorted."""
    held = user.get_all_permissions()
    asked = task_permissions()
    return sorted(held if asked is None else held & asked)


def _open_tasks(user, *, kind: Kind | None = None, program_id: int | None = None, nodes=()):
    tasks = Task.objects.filter(status__in=OPEN, process__status=PROCESS.NEW)
    for flow_class in registered_flows():
        excluded = flow_class.inbox_exclusion(user) if hasattr(flow_class, "inbox_exclusion") else None
        if excluded is not None:
            tasks = tasks.exclude(excluded)
    if kind is not None:
        tasks = tasks.filter(flow_task=kind.node)
    if nodes:
        tasks = tasks.filter(flow_task__in=list(nodes))
    if program_id is not None:
        tasks = tasks.filter(process__data__program_id=program_id)
    return tasks


def inbox_segments(user, *, kind: Kind | None = None, program_id: int | None = None, nodes=()) -> list:
    """``user``'s inbox as two querysets shown one after the other: the open tasks
    assigned to them, then the unassigned ones their permissions let them claim, each
    oldest first (``KEYS``). No ``OR`` between the two: each is served by its own index."""
    if not user.is_authenticated:
        return [Task.objects.none(), Task.objects.none()]
    perms = claimable_permissions(user)
    tasks = _open_tasks(user, kind=kind, program_id=program_id, nodes=nodes).select_related("process", "owner")
    mine = tasks.filter(owner=user)
    claimable = tasks.filter(owner__isnull=True, owner_permission__in=perms)
    return [mine.order_by(*KEYS), claimable.order_by(*KEYS)]


def inbox_tasks(user, *, kind: Kind | None = None, program_id: int | None = None, nodes=()):
    """The open tasks ``user`` may take, as one queryset: assigned to them first, oldest
    first. For small reads (a file's tasks, the demo's summary); pages read
    ``inbox_segments`` through ``core.pagination``."""
    if not user.is_authenticated:
        return Task.objects.none()
    perms = claimable_permissions(user)
    tasks = _open_tasks(user, kind=kind, program_id=program_id, nodes=nodes).filter(
        Q(owner=user) | Q(owner__isnull=True, owner_permission__in=perms)
    )
    mine_first = Case(When(owner=user, then=Value(0)), default=Value(1), output_field=IntegerField())
    return tasks.select_related("process", "owner").order_by(mine_first, "created", "pk")


def inbox_count(user, *, cap: int | None = None) -> int:
    """How many tasks wait for ``user``, counted up to ``cap + 1`` (the badge shows
    "99+" beyond ``cap``): the first ``cap + 1`` ids of each list in the order of its
    index, which hands them over without reading the rest: the tasks assigned to them in
    the inbox's order, the claimable ones permission by permission (in the inbox's order,
    that list would walk every older open task of the other roles: 20,000 at 100,000
    files). (One ``UNION ALL`` would be one query, but PostgreSQL then plans each side on
    its own and read 18,000 tasks to count 100 at 100,000 tasks.)"""
    if not user.is_authenticated:
        return 0
    cap = COUNT_CAP if cap is None else cap
    found = 0
    mine, claimable = inbox_segments(user)
    for segment in (mine, claimable.order_by("owner_permission", *KEYS)):
        found += len(segment.values_list("pk", flat=True)[: cap + 1 - found])
        if found > cap:
            break
    return found


def rows(user, *, back: str, nodes=(), limit: int = 20) -> list:
    """The first ``limit`` of ``user``'s open tasks among ``nodes``, described, each with
    its ``open_url`` back to ``back``: the "waiting for me" panel of a page (the
    committee's sessions, the funding tray) — the inbox, filtered."""
    page = keyset_page(inbox_segments(user, nodes=nodes), {}, keys=KEYS, size=limit)
    return with_links(describe(page.rows), back)


def with_links(tasks, back: str) -> list:
    for task in tasks:
        task.open_url = with_next(task.screen_url, back) if task.screen_url else ""
    return tasks


# What the apps above add to a page's rows, each ``annotate(tasks)`` in a constant number
# of queries (notifications: each task's deadline state), filled in their ready().
ROW_ANNOTATORS: list = []


def describe(tasks) -> list:
    """Give each task of a page its ``subject``, ``screen_url`` and ``program_label``,
    each flow reading what its rows need in one go, then what the apps above add."""
    tasks = list(tasks)
    by_flow = defaultdict(list)
    for task in tasks:
        task.deadline_state = ""
        by_flow[task.flow_task.flow_class].append(task)
    for flow_class, group in by_flow.items():
        flow_class.describe_tasks(group)
    for annotate in ROW_ANNOTATORS:
        annotate(tasks)
    return tasks
