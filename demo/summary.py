"""The closing summary of ``seed_demo``: the money, the work waiting for each demo
login, and what is overdue on purpose. Reads only."""

from collections import Counter
from datetime import timedelta

from django.db.models import Count, Sum
from django.utils import timezone

from core.money import format_mad
from disbursements.models import Disbursement, DisbursementState, OrderState, PurchaseOrder
from disbursements.selectors import program_envelope_totals
from workflow.models import ProjectState

S = ProjectState
MONEY_STAGES = (S.FUNDING, S.EQUIPPED, S.LAUNCHED, S.CLOSED)


def money_lines(program) -> list[str]:
    """Released totals (the program's, then by the files' stage), tranches and orders by state."""
    totals = program_envelope_totals(program)
    lines = [f"released {format_mad(totals.released)} of {format_mad(totals.committed)} committed"]
    by_stage = dict(
        Disbursement.objects.filter(project__program=program, state=DisbursementState.RELEASED)
        .values_list("project__state").annotate(total=Sum("amount")).values_list("project__state", "total")
    )
    files = Counter(program.projects.filter(state__in=MONEY_STAGES).values_list("state", flat=True))
    for state in MONEY_STAGES:
        lines.append(f"  {state.label}: {files.get(state, 0)} file(s), released {format_mad(by_stage.get(state, 0))}")
    tranches = _by_state(Disbursement.objects.filter(project__program=program))
    lines.append("tranches: " + ", ".join(f"{tranches.get(s, 0)} {s.label}" for s in DisbursementState))
    orders = PurchaseOrder.objects.filter(project__program=program)
    drafts = orders.filter(state=OrderState.DRAFT)
    order_states = _by_state(orders)
    lines.append(
        "purchase orders: "
        f"{drafts.filter(chosen_quote=None).count()} draft collecting quotes, "
        f"{drafts.exclude(chosen_quote=None).count()} draft with a chosen quote, "
        + ", ".join(f"{order_states.get(s, 0)} {s.label}" for s in OrderState if s != OrderState.DRAFT)
    )
    return lines


def _by_state(queryset) -> dict:
    return dict(queryset.values_list("state").annotate(n=Count("pk")).values_list("state", "n"))


def work_lines(users) -> list[str]:
    """Per demo login, the open tasks of its inbox by kind."""
    from workflow.inbox import inbox_tasks

    lines = []
    for username, user in users.items():
        kinds = Counter(str(task.flow_task.task_title or task.flow_task.name) for task in inbox_tasks(user))
        waiting = ", ".join(f"{title} ({n})" for title, n in sorted(kinds.items())) or _NOTHING.get(username, "—")
        lines.append(f"{username:<20} {waiting}")
    return lines


_NOTHING = {
    "auditor": "no task (reads everything): the ledger, the dashboards, evidence bundles",
    "admin": "no task: the committee seat asked for program_officer2 waits for admin2",
    "admin2": "People and roles: approve or refuse the committee seat admin asked for program_officer2",
}


def overdue_lines(program) -> list[str]:
    """The steps already past their reminder: overdue on purpose (see the seed's deadlines)."""
    from notifications.deadlines import open_steps

    now = timezone.now()
    lines = []
    for step, (remind, _escalate), _assignees in open_steps(now):
        if step.program_id == program.pk and now - step.since >= timedelta(days=remind):
            lines.append(f"{step.title}  ({step.step}: reminds after {remind} days)")
    return lines
