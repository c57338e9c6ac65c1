"""Reads of a program's dashboard: pipeline, envelope, beneficiaries, follow-up.

Every figure is one aggregate query, so computing a dashboard costs the same number of
queries with ten projects or ten thousand, and reads no more rows. The page itself reads
the counts kept by ``reporting.services`` (``kept_figures``, ``dashboard_from``) and only
the money and the first projects at risk live. Each project's latest visit
report is the one its follow-up plan points at (``FollowUpPlan.latest_report``), never
found by loading or searching every report. Nothing here writes. Money comes from the envelope
ledger (``disbursements.selectors.program_envelope_totals``): the running totals its
events keep in their own transactions, so it is always current and one row to read.
"""

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from followup.models import EquipmentRecovery, FollowUpVisit, VisitReport, VisitState
from followup.selectors import AtRiskProject
from workflow.models import Beneficiary, GrantProject, Outcome, Program, ProjectState

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class Figure:
    """One labelled count (a bar of a chart, a row of its data table)."""

    key: str
    label: str
    value: int


@dataclass
class Pipeline:
    rows: list[Figure]

    @property
    def total(self) -> int:
        return sum(row.value for row in self.rows)


@dataclass
class Envelope:
    envelope: Decimal
    committed: Decimal
    released: Decimal

    @property
    def free(self) -> Decimal:
        return self.envelope - self.committed

    @property
    def committed_unreleased(self) -> Decimal:
        return self.committed - self.released


@dataclass
class Beneficiaries:
    categories: list[Figure]
    communes: list[Figure]

    @property
    def total(self) -> int:
        return sum(row.value for row in self.categories)


@dataclass
class Followup:
    outcomes: list[Figure]
    at_risk: list = field(default_factory=list)
    # The follow-up's other figures (launched, visits, latest reports).
    summary: dict = field(default_factory=dict)


def programs_for_choice():
    return Program.objects.order_by("-year", "name")


def default_program(programs) -> Program | None:
    """The current year's program (the first by name), else the most recent one."""
    programs = list(programs)
    year = timezone.localdate().year
    return next((p for p in programs if p.year == year), programs[0] if programs else None)


def state_outcome_counts(program) -> list[tuple[str, str, int]]:
    """(state, outcome, files) of ``program``: one ``GROUP BY`` that both the pipeline
    and the follow-up's launched and closed counts read."""
    return list(GrantProject.objects.filter(program_id=program.pk).order_by().values_list("state", "outcome")
                .annotate(n=Count("pk")))


def pipeline_counts(program, *, state_outcomes=None) -> dict[str, int]:
    """{state: projects of ``program`` in it}, every state of the lifecycle (zero
    included), in the lifecycle's order. One ``GROUP BY`` (none given ``state_outcomes``)."""
    counts: dict[str, int] = {}
    for state, _outcome, n in (state_outcomes if state_outcomes is not None else state_outcome_counts(program)):
        counts[state] = counts.get(state, 0) + n
    return {state.value: counts.get(state.value, 0) for state in ProjectState}


def pipeline_from(counts: dict[str, int]) -> Pipeline:
    """``pipeline_counts``' figures labelled in the current language."""
    return Pipeline(rows=[Figure(state.value, str(state.label), counts.get(state.value, 0)) for state in ProjectState])


def pipeline(program) -> Pipeline:
    """Projects of ``program`` per lifecycle state, every state of the lifecycle listed
    (zero included), in the lifecycle's order."""
    return pipeline_from(pipeline_counts(program))


def envelope(program) -> Envelope:
    """Envelope, committed, released (and free) of ``program``, from the ledger."""
    from disbursements.selectors import program_envelope_totals

    totals = program_envelope_totals(program)
    return Envelope(envelope=program.envelope, committed=totals.committed, released=totals.released)


CATEGORY_LABELS = {
    "woman": _("woman in a difficult situation"),
    "disability": _("person with a disability"),
    "both": _("both"),
}


def beneficiary_counts(program) -> dict:
    """Distinct beneficiaries with a project in ``program`` (any state), by category
    (woman in a difficult situation only, person with a disability only, both) and by
    commune (communes without a beneficiary are left out), without labels:
    ``{"categories": {key: n}, "communes": [[code, name_fr, name_ar, n], ...]}``, the
    communes by number, then French name. One query: each commune's beneficiaries counted
    by category, the categories summed here (every beneficiary has a commune)."""
    people = Beneficiary.objects.filter(
        pk__in=GrantProject.objects.filter(program_id=program.pk).values("beneficiary_id")
    ).order_by()
    woman, disability = Q(is_woman_in_difficulty=True), Q(has_disability=True)
    by_commune = (
        people.values("commune_id", "commune__code", "commune__name_fr", "commune__name_ar")
        .annotate(n=Count("pk"), woman=Count("pk", filter=woman & ~disability),
                  disability=Count("pk", filter=disability & ~woman), both=Count("pk", filter=woman & disability))
        .order_by("-n", "commune__name_fr")
    )
    categories = dict.fromkeys(CATEGORY_LABELS, 0)
    communes = []
    for row in by_commune:
        for key in categories:
            categories[key] += row[key]
        communes.append([row["commune__code"], row["commune__name_fr"], row["commune__name_ar"], row["n"]])
    return {"categories": categories, "communes": communes}


def beneficiaries_from(counts: dict) -> Beneficiaries:
    """``beneficiary_counts``' figures labelled in the current language (the communes
    by their name in the page's script)."""
    from workflow.models.reference import Commune

    categories = [Figure(key, str(label), counts["categories"].get(key, 0)) for key, label in CATEGORY_LABELS.items()]
    communes = [Figure(code, Commune(name_fr=name_fr, name_ar=name_ar).name, n)
                for code, name_fr, name_ar, n in counts["communes"]]
    return Beneficiaries(categories=categories, communes=communes)


def beneficiaries(program) -> Beneficiaries:
    """``beneficiary_counts`` of ``program``, labelled."""
    return beneficiaries_from(beneficiary_counts(program))


AT_RISK_SHOWN = 20


def latest_reports(program, states) -> QuerySet[VisitReport]:
    """The latest visit report of each project of ``program`` in ``states``, as a query:
    the report each follow-up plan points at (``FollowUpPlan.latest_report``, kept by
    ``followup.services.visit_report``), what ``followup.selectors.latest_reports``
    finds, read through the project's ``(program, state)`` index and two primary-key
    joins, without searching the program's visits."""
    return VisitReport.objects.filter(latest_of_plan__project__program_id=program.pk,
                                      latest_of_plan__project__state__in=states).order_by()


def _at_risk(program):
    """Launched projects' latest reports that found a risk (the plans flagged at risk)."""
    return latest_reports(program, (ProjectState.LAUNCHED,)).filter(latest_of_plan__latest_at_risk=True)


def at_risk_first(program, limit: int = AT_RISK_SHOWN) -> list[AtRiskProject]:
    """The ``limit`` most recently visited projects at risk (as
    ``followup.selectors.at_risk_projects`` orders them: by visit date, then report,
    newest first), read in the order of the plans' ``plan_latest_at_risk`` index, so the
    database stops after ``limit`` rows instead of sorting every file at risk."""
    reports = (_at_risk(program).select_related("visit", "visit__project", "visit__project__program",
                                                "visit__project__beneficiary")
               .order_by("-latest_of_plan__latest_visited_on", "-latest_of_plan__latest_report_id")[:limit])
    return [AtRiskProject(project=report.visit.project, report=report, reasons=list(report.risk_reasons))
            for report in reports]


def followup_summary(program, *, today: date | None = None, state_outcomes=None) -> dict:
    """``followup.selectors.followup_outcomes(program)``'s figures, each aggregated in
    the database: a fixed number of queries returning one row each (or one per outcome),
    whatever the number of projects, visits and reports. ``state_outcomes``:
    ``state_outcome_counts(program)`` when the caller has read it already."""
    today = today or timezone.localdate()
    if state_outcomes is None:
        state_outcomes = (GrantProject.objects.filter(
            program_id=program.pk, state__in=(ProjectState.LAUNCHED, ProjectState.CLOSED)).order_by()
            .values_list("state", "outcome").annotate(n=Count("pk")))
    launched, closed = 0, dict.fromkeys(Outcome.values, 0)
    for state, outcome, n in state_outcomes:
        if state == ProjectState.LAUNCHED:
            launched += n
        elif state == ProjectState.CLOSED and outcome in closed:
            closed[outcome] += n
    visits = FollowUpVisit.objects.filter(project__program_id=program.pk).order_by().aggregate(
        planned=Count("pk", filter=Q(state=VisitState.PLANNED)),
        due=Count("pk", filter=Q(state=VisitState.PLANNED, due_on__lte=today)),
        reported=Count("pk", filter=Q(state=VisitState.REPORTED)),
        cancelled=Count("pk", filter=Q(state=VisitState.CANCELLED)),
    )
    # The launched files at risk are counted with the latest reports they are among.
    at_risk = Q(latest_of_plan__project__state=ProjectState.LAUNCHED, latest_of_plan__latest_at_risk=True)
    latest = latest_reports(program, (ProjectState.LAUNCHED, ProjectState.CLOSED)).aggregate(
        reported_projects=Count("pk"), running=Count("pk", filter=Q(activity_running=True)),
        revenue=Sum("monthly_revenue"), jobs_created=Sum("jobs_created"), at_risk=Count("pk", filter=at_risk),
    )
    revenue = latest["revenue"] or Decimal("0.00")
    reported = latest["reported_projects"]
    recovery = EquipmentRecovery.objects.filter(project__program_id=program.pk).aggregate(
        count=Count("pk"), value=Sum("value"),
    )
    return {
        "launched": launched,
        "at_risk": latest["at_risk"],
        "closed": closed,
        "closed_total": sum(closed.values()),
        "visits": visits,
        "latest": {
            "reported_projects": reported,
            "running": latest["running"],
            "monthly_revenue_total": revenue,
            "monthly_revenue_average": (revenue / reported).quantize(Decimal("0.01")) if reported else None,
            "jobs_created": latest["jobs_created"] or 0,
        },
        "equipment_recovered": {"count": recovery["count"], "value": recovery["value"] or Decimal("0.00")},
    }


def followup_from(summary: dict, at_risk: list) -> Followup:
    """Closed projects by outcome (every outcome listed, labelled), ``summary``
    (``followup_summary``'s figures) and the projects at risk shown."""
    outcomes = [Figure(o.value, str(o.label), summary["closed"].get(o.value, 0)) for o in Outcome]
    return Followup(outcomes=outcomes, at_risk=at_risk, summary=summary)


def followup(program) -> Followup:
    """Closed projects by outcome (every outcome listed), the follow-up summary
    (``followup_summary``) and the first ``AT_RISK_SHOWN`` projects at risk: aggregates
    and one page of rows, never every report of the program."""
    return followup_from(followup_summary(program), at_risk_first(program))


def figure_counts(program) -> dict:
    """The dashboard's counts and sums of ``program``, without labels — what
    ``reporting.models.ProgramFigures`` keeps: ``{"pipeline": pipeline_counts,
    "beneficiaries": beneficiary_counts, "followup": followup_summary}``. The money
    (``envelope``) and the projects at risk shown (``at_risk_first``) are not in it:
    the page reads those live."""
    state_outcomes = state_outcome_counts(program)
    return {"pipeline": pipeline_counts(program, state_outcomes=state_outcomes),
            "beneficiaries": beneficiary_counts(program),
            "followup": followup_summary(program, state_outcomes=state_outcomes)}


def kept_figures(program):
    """``program``'s kept figures (``reporting.models.ProgramFigures``), or None before
    the first computation. One query."""
    from reporting.models import ProgramFigures

    return ProgramFigures.objects.filter(program_id=program.pk).first()


@dataclass
class Dashboard:
    program: Program
    pipeline: Pipeline
    envelope: Envelope
    beneficiaries: Beneficiaries
    followup: Followup
    # When the counts were computed (kept figures); None when computed for this page.
    computed_at: datetime | None = None


def dashboard_from(program, counts: dict, *, computed_at: datetime | None = None) -> Dashboard:
    """The dashboard of ``program`` from ``counts`` (``figure_counts``' shape, live or
    kept), with the envelope and the first projects at risk read now: three queries."""
    return Dashboard(
        program=program, pipeline=pipeline_from(counts["pipeline"]), envelope=envelope(program),
        beneficiaries=beneficiaries_from(counts["beneficiaries"]),
        followup=followup_from(counts["followup"], at_risk_first(program)), computed_at=computed_at,
    )


def program_dashboard(program) -> Dashboard:
    """Everything the dashboard of ``program`` shows, computed now (a fixed number of
    queries; the page reads the kept figures instead, ``kept_figures``)."""
    return dashboard_from(program, figure_counts(program))
