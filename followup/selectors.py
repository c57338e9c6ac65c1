"""Reads of post-launch follow-up, for the follow-up screens and the dashboards.

``at_risk_projects(program)`` and ``followup_outcomes(program)`` are the dashboard's
entry points; ``program=None`` means every program.

A project is at risk when the latest reported visit of its plan found a risk
(``VisitReport.risk_reasons``, set by the rules of ``followup.plan.risk_reasons``
when the visit is reported): the activity stopped, equipment missing, revenue lower
than at the previous visit, or the mentor's "at risk" recommendation. A later visit
that finds none of these clears the flag. Only launched projects are listed.
"""

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db.models import Count, Q, Sum
from django.utils import timezone

from followup.models import (
    EquipmentRecovery,
    FollowUpPlan,
    FollowUpVisit,
    RiskReason,
    VisitReport,
    VisitState,
)
from workflow import selectors as workflow_selectors
from workflow.models import GrantProject, Outcome, ProjectState


@dataclass
class AtRiskProject:
    project: GrantProject
    report: VisitReport
    reasons: list[str] = field(default_factory=list)

    @property
    def reason_labels(self) -> list[str]:
        return [str(RiskReason(r).label) if r in RiskReason.values else r for r in self.reasons]

    @property
    def visited_on(self) -> date:
        return self.report.visited_on


def _in_program(queryset, program, prefix=""):
    if program is None:
        return queryset
    program_id = getattr(program, "pk", program)
    return queryset.filter(**{f"{prefix}program_id": program_id})


def latest_reports(program=None, *, states=(ProjectState.LAUNCHED,)) -> dict[int, VisitReport]:
    """{project id: its latest visit report} for projects in ``states``."""
    reports = (
        VisitReport.objects.filter(visit__project__state__in=states)
        .select_related("visit", "visit__project", "visit__project__beneficiary", "visit__project__program",
                        "visit__mentor")
        .order_by("visit__project_id", "-visit__sequence")
    )
    reports = _in_program(reports, program, "visit__project__")
    latest: dict[int, VisitReport] = {}
    for report in reports:
        latest.setdefault(report.visit.project_id, report)
    return latest


def at_risk_projects(program=None, *, search: str = "") -> list[AtRiskProject]:
    """Launched projects whose latest visit found a risk, most recent visit first."""
    flagged = [
        AtRiskProject(project=report.visit.project, report=report, reasons=list(report.risk_reasons))
        for report in latest_reports(program).values()
        if report.risk_reasons
    ]
    term = (search or "").strip().lower()
    if term:
        flagged = [
            item for item in flagged
            if term in item.project.reference.lower() or term in item.project.title.lower()
            or term in f"{item.project.beneficiary.first_name} {item.project.beneficiary.last_name}".lower()
        ]
    flagged.sort(key=lambda item: (item.report.visited_on, item.report.pk), reverse=True)
    return flagged


# The at-risk list's order: the latest visit's date, then its report, newest first — the
# order of the plans' ``plan_latest_at_risk`` index, read backwards.
AT_RISK_KEYS = ("-latest_visited_on", "-latest_report_id")


def at_risk_plans(program=None, *, search: str = ""):
    """The follow-up plans of launched projects whose latest visit found a risk, as a
    queryset in ``AT_RISK_KEYS`` order, for keyset pages: each plan keeps its latest
    report (``FollowUpPlan.latest_report``, kept by ``visit_report``), so the list reads
    only the rows of its page, whatever the number of files at risk."""
    plans = FollowUpPlan.objects.filter(latest_at_risk=True, project__state=ProjectState.LAUNCHED)
    if program is not None:
        plans = plans.filter(project__program_id=program.pk)
    term = (search or "").strip()
    if term:  # a reference, a title or a name, as the project list finds them (its indexes)
        plans = plans.filter(project__in=workflow_selectors.project_list(search=term).order_by().values("pk"))
    return plans.select_related(
        "project", "project__program", "project__beneficiary", "latest_report", "latest_report__visit",
        "latest_report__visit__mentor",
    ).order_by(*AT_RISK_KEYS)


def at_risk_rows(plans) -> list[AtRiskProject]:
    """A page of ``at_risk_plans`` as the list shows them."""
    return [AtRiskProject(project=plan.project, report=plan.latest_report,
                          reasons=list(plan.latest_report.risk_reasons)) for plan in plans]


def risk_reasons_by_project(project_ids) -> dict[int, list[str]]:
    """``{project id: risk reasons of its latest report}`` for the launched projects among
    ``project_ids`` whose latest visit found a risk; one query (the inbox's rows)."""
    reports = (
        VisitReport.objects.filter(visit__project_id__in=list(project_ids),
                                   visit__project__state=ProjectState.LAUNCHED)
        .order_by("visit__project_id", "-visit__sequence")
        .values_list("visit__project_id", "risk_reasons")
    )
    latest: dict[int, list[str]] = {}
    for project_id, reasons in reports:
        latest.setdefault(project_id, list(reasons or []))
    return {project_id: reasons for project_id, reasons in latest.items() if reasons}


def project_risk(project) -> AtRiskProject | None:
    """The project's at-risk flag (its latest report, when it found a risk), or None."""
    report = (
        VisitReport.objects.filter(visit__project_id=project.pk).select_related("visit")
        .order_by("-visit__sequence").first()
    )
    if report is None or not report.risk_reasons or project.state != ProjectState.LAUNCHED:
        return None
    return AtRiskProject(project=project, report=report, reasons=list(report.risk_reasons))


def followup_outcomes(program=None, *, today: date | None = None) -> dict:
    """Follow-up figures for a dashboard.

    ``{"launched", "at_risk", "closed": {outcome: count}, "closed_total",
    "visits": {"planned", "due", "reported", "cancelled"}, "latest": {"reported_projects",
    "running", "monthly_revenue_total", "monthly_revenue_average", "jobs_created"},
    "equipment_recovered": {"count", "value"}}`` — "due" counts planned visits whose date
    has passed; "latest" sums the latest report of each launched or closed project.
    """
    today = today or timezone.localdate()
    projects = _in_program(GrantProject.objects.all(), program)
    launched = projects.filter(state=ProjectState.LAUNCHED).count()
    closed_rows = projects.filter(state=ProjectState.CLOSED).values("outcome").annotate(n=Count("pk"))
    closed = dict.fromkeys(Outcome.values, 0)
    for row in closed_rows:
        if row["outcome"] in closed:
            closed[row["outcome"]] = row["n"]
    visits = _in_program(FollowUpVisit.objects.all(), program, "project__").aggregate(
        planned=Count("pk", filter=Q(state=VisitState.PLANNED)),
        due=Count("pk", filter=Q(state=VisitState.PLANNED, due_on__lte=today)),
        reported=Count("pk", filter=Q(state=VisitState.REPORTED)),
        cancelled=Count("pk", filter=Q(state=VisitState.CANCELLED)),
    )
    latest = list(latest_reports(program, states=(ProjectState.LAUNCHED, ProjectState.CLOSED)).values())
    revenue = sum((r.monthly_revenue for r in latest), Decimal("0.00"))
    recovery = _in_program(EquipmentRecovery.objects.all(), program, "project__").aggregate(
        count=Count("pk"), value=Sum("value"),
    )
    return {
        "launched": launched,
        "at_risk": len(at_risk_projects(program)),
        "closed": closed,
        "closed_total": sum(closed.values()),
        "visits": visits,
        "latest": {
            "reported_projects": len(latest),
            "running": sum(1 for r in latest if r.activity_running),
            "monthly_revenue_total": revenue,
            "monthly_revenue_average": (revenue / len(latest)).quantize(Decimal("0.01")) if latest else None,
            "jobs_created": sum(r.jobs_created for r in latest),
        },
        "equipment_recovered": {"count": recovery["count"], "value": recovery["value"] or Decimal("0.00")},
    }


# --- Screens -------------------------------------------------------------------------------

WHEN_CHOICES = ("due", "upcoming", "reported", "cancelled")


def visits_for(user, *, reads_all: bool, when: str = "", program=None, search: str = "", today=None):
    """The visits a user sees: their own as mentor, or every visit for a reader of all
    (program officers, auditors). ``when``: due (planned, date passed), upcoming
    (planned, date ahead), reported, cancelled; empty means every visit."""
    today = today or timezone.localdate()
    visits = FollowUpVisit.objects.select_related(
        "project", "project__beneficiary", "project__program", "mentor",
    )
    if not reads_all:
        visits = visits.filter(mentor=user)
    visits = _in_program(visits, program, "project__")
    if when == "due":
        visits = visits.filter(state=VisitState.PLANNED, due_on__lte=today)
    elif when == "upcoming":
        visits = visits.filter(state=VisitState.PLANNED, due_on__gt=today)
    elif when == "reported":
        visits = visits.filter(state=VisitState.REPORTED)
    elif when == "cancelled":
        visits = visits.filter(state=VisitState.CANCELLED)
    term = (search or "").strip()
    if term:
        query = (Q(project__title__icontains=term) | Q(project__beneficiary__last_name__icontains=term)
                 | Q(project__beneficiary__first_name__icontains=term))
        digits = term.rsplit("-", 1)[-1]
        if digits.isdigit():
            query |= Q(project__pk=int(digits))
        visits = visits.filter(query)
    return visits.order_by(*visit_order(when))


def visit_order(when: str) -> tuple:
    """The visit list's order (and keyset): the latest reports first, else by due date."""
    if when == "reported":
        return ("-reported_at", "-pk")
    return ("due_on", "project_id", "sequence", "pk")


def project_followup(project) -> dict:
    """The follow-up section of one project: its plan, visits (with reports), the
    at-risk flag and the equipment recovery."""
    from followup.models import FollowUpPlan

    plan = FollowUpPlan.objects.filter(project_id=project.pk).first()
    visits = list(
        FollowUpVisit.objects.filter(project_id=project.pk).select_related("mentor", "report", "report__reported_by")
        .order_by("sequence")
    ) if plan else []
    recovery = EquipmentRecovery.objects.filter(project_id=project.pk).first()
    return {
        "plan": plan,
        "visits": visits,
        "reported": sum(1 for v in visits if v.state == VisitState.REPORTED),
        "complete": bool(visits) and all(v.state == VisitState.REPORTED for v in visits),
        "risk": project_risk(project),
        "recovery": recovery,
    }


def annotate_risk(projects_by_id) -> None:
    """Set ``risk_labels`` on each of ``projects_by_id``'s files (one query)."""
    risks = risk_reasons_by_project(projects_by_id)
    for project_id, reasons in risks.items():
        project = projects_by_id.get(project_id)
        if project is not None:
            project.risk_labels = [RiskReason(r).label if r in RiskReason.values else r for r in reasons]
