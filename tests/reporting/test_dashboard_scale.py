"""The program dashboard at scale (issue 16): the follow-up figures are aggregated in the
database — each file's latest visit report found there, never every report loaded into
Python — so the page's queries and the rows it reads do not grow with the files."""

from datetime import date, timedelta
from decimal import Decimal
from itertools import count

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from demo.scenarios import STABLE_VISIT
from followup import services as followup_services
from followup.models import FollowUpPlan, FollowUpVisit, VisitReport
from followup.selectors import at_risk_projects, followup_outcomes
from reporting import selectors as figures
from reporting.services import program_figures_refresh
from workflow.models import ActivitySector, Beneficiary, Commune, GrantProject

pytestmark = pytest.mark.django_db
URL = "/dashboards/"
_serial = count(1)


def _report(visit, actor, **figures_):
    followup_services.visit_report(visit_id=visit.pk, actor=actor,
                                   **{**STABLE_VISIT, "visited_on": timezone.localdate(), **figures_})


def test_the_aggregated_figures_are_those_of_the_follow_up_module(cast, make_project, program):
    """The same figures as ``followup.selectors.followup_outcomes``, which loads every
    report: stable files, a file at risk whose later visit clears it, one at risk at its
    latest visit, a closed file."""
    stable, cleared, risky = (make_project("launched") for _ in range(3))
    make_project("closed")
    for project, visits in ((stable, [{}]), (cleared, [{"activity_running": False, "stopped_reason": "Fermé."}, {}]),
                            (risky, [{}, {"equipment_present": False, "equipment_in_use": False,
                                          "monthly_revenue": "900.00", "monthly_profit": "300.00",
                                          "jobs_created": 3}])):
        planned = FollowUpVisit.objects.filter(project=project).order_by("sequence")
        for visit, changes in zip(planned, visits, strict=False):
            _report(visit, cast.mentor, **changes)

    expected = followup_outcomes(program)
    assert figures.followup_summary(program) == expected
    assert expected["at_risk"] == 1 and expected["latest"]["reported_projects"] >= 3
    assert [item.project.pk for item in figures.at_risk_first(program)] == [
        item.project.pk for item in at_risk_projects(program)] == [risky.pk]


def followup_rows(program, n, user, mentor):
    """``n`` launched files, each with two reported visits (the latest at risk for every
    other file) and a planned third, written directly: read-only counts only."""
    commune = Commune.objects.get(code="nador")
    sector = ActivitySector.objects.get(code="sewing")
    serial = next(_serial) * 10000
    people = Beneficiary.objects.bulk_create([
        Beneficiary(first_name="F", last_name=f"S{serial + i}", first_name_ar="ف", last_name_ar="س",
                    cin=f"R{serial + i}", phone="+212612345678", gender="F", birth_date=date(1990, 1, 1),
                    commune=commune, is_woman_in_difficulty=True, created_by=user)
        for i in range(n)
    ])
    GrantProject.objects.bulk_create([
        GrantProject(program=program, beneficiary=person, title=f"Suivi {person.last_name}", sector=sector,
                     description="d", requested_amount=Decimal("1000.00"), state="launched", created_by=user)
        for person in people
    ])
    projects = list(GrantProject.objects.filter(beneficiary__in=people).order_by("pk"))
    launched = timezone.localdate() - timedelta(days=200)
    plans = FollowUpPlan.objects.bulk_create([
        FollowUpPlan(project=project, launched_on=launched, offsets=[1, 3, 12], created_by=user) for project in projects
    ])
    now = timezone.now()
    visits = FollowUpVisit.objects.bulk_create([
        FollowUpVisit(plan=plan, project=plan.project, sequence=k, offset_months=months,
                      due_on=launched + timedelta(days=30 * months), mentor=mentor,
                      state="reported" if k < 3 else "planned", reported_at=now if k < 3 else None)
        for plan in plans for k, months in ((1, 1), (2, 3), (3, 12))
    ])
    VisitReport.objects.bulk_create([
        VisitReport(visit=visit, visited_on=visit.due_on, activity_running=True, monthly_revenue=Decimal("4000.00"),
                    monthly_profit=Decimal("1500.00"), jobs_created=1, equipment_present=True, equipment_in_use=True,
                    legal_status="auto_entrepreneur", recommendation="continue", reported_by=mentor, reported_at=now,
                    risk_reasons=["activity_stopped"] if visit.sequence == 2 and visit.project_id % 2 else [])
        for visit in visits if visit.sequence < 3
    ])
    FollowUpPlan.refill_latest_reports(FollowUpPlan.objects.filter(pk__in=[plan.pk for plan in plans]))


def test_the_dashboard_reads_a_bounded_number_of_queries_and_rows(client, cast, program, monkeypatch):
    client.force_login(cast.officer)
    loaded = []
    from_db = VisitReport.from_db.__func__

    def counting(cls, *args, **kwargs):
        loaded.append(1)
        return from_db(cls, *args, **kwargs)

    monkeypatch.setattr(VisitReport, "from_db", classmethod(counting))

    def measure():
        loaded.clear()
        with CaptureQueriesContext(connection) as captured:
            response = client.get(URL, {"program": program.pk})
        assert response.status_code == 200
        return len(captured.captured_queries), len(loaded), response.content.decode()

    followup_rows(program, 10, cast.officer, cast.mentor)
    measure()  # warm the per-process caches
    small_queries, small_loaded, _ = measure()
    followup_rows(program, 190, cast.officer, cast.mentor)
    # The rows were written in bulk, without audit entries: recompute the kept figures
    # as beat would. The recomputation aggregates: it loads no report either.
    loaded.clear()
    program_figures_refresh(program=program)
    assert loaded == []
    large_queries, large_loaded, html = measure()

    assert small_queries == large_queries
    assert 'Total</th><td class="num"><bdi dir="ltr">200</bdi>' in html
    assert small_loaded == 5 and large_loaded == figures.AT_RISK_SHOWN  # the at-risk rows shown, no more
    summary = figures.followup_summary(program)
    assert summary["latest"]["reported_projects"] == 200 and summary["at_risk"] == 100
    assert summary["visits"]["reported"] == 400 and summary["latest"]["jobs_created"] == 200
    assert html.count('<li data-project="') == figures.AT_RISK_SHOWN


def test_the_figures_match_the_follow_up_module_at_two_sizes_in_as_many_queries(cast, program):
    """``followup_summary`` and ``at_risk_first`` give ``followup_outcomes``'s figures with
    5 and then 60 files (bulk fixtures whose plans point at their latest report), in the
    same number of queries."""
    def read():
        with CaptureQueriesContext(connection) as captured:
            summary = figures.followup_summary(program)
            first = [item.project.pk for item in figures.at_risk_first(program)]
        return summary, first, len(captured.captured_queries)

    followup_rows(program, 5, cast.officer, cast.mentor)
    small, small_first, small_queries = read()
    assert small == followup_outcomes(program) and small["latest"]["reported_projects"] == 5
    followup_rows(program, 55, cast.officer, cast.mentor)
    large, large_first, large_queries = read()
    assert large == followup_outcomes(program) and large["latest"]["reported_projects"] == 60
    assert large["at_risk"] == 30 and large["latest"]["monthly_revenue_total"] == Decimal("240000.00")
    assert small_queries == large_queries
    assert large_first[:20] == [item.project.pk for item in at_risk_projects(program)][:20]


def test_a_plan_without_its_pointer_is_not_counted(cast, program):
    """The dashboard reads the plans' pointer: a file whose plan points nowhere (the
    pointer is the only source) has no latest report there — the pointer matters."""
    followup_rows(program, 4, cast.officer, cast.mentor)
    assert figures.followup_summary(program)["latest"]["reported_projects"] == 4
    FollowUpPlan.objects.filter(project__program=program).update(latest_report=None)
    assert figures.followup_summary(program)["latest"]["reported_projects"] == 0
    assert followup_outcomes(program)["latest"]["reported_projects"] == 4
