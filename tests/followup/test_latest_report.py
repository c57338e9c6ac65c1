"""The follow-up plan's pointer to its latest visit report (issue 16): kept by
``visit_report`` in the report's transaction, filled for existing rows by migration
0003, and what the program dashboard reads."""

import importlib

import pytest
from django.apps import apps
from django.utils import timezone

from core.exceptions import TamkeenError
from demo.scenarios import STABLE_VISIT
from followup import services as followup_services
from followup import signals
from followup.models import FollowUpPlan, FollowUpVisit, VisitReport

pytestmark = pytest.mark.django_db


def visits_of(project):
    return list(FollowUpVisit.objects.filter(project=project).order_by("sequence"))


def report(visit, actor, **overrides):
    return followup_services.visit_report(visit_id=visit.pk, actor=actor,
                                          **{"visited_on": timezone.localdate(), **STABLE_VISIT, **overrides})


def pointer(project):
    return FollowUpPlan.objects.filter(project=project).values_list("latest_report_id", flat=True).get()


def copied(project):
    return FollowUpPlan.objects.filter(project=project).values_list(
        "latest_report_id", "latest_at_risk", "latest_visited_on").get()


def test_each_report_becomes_the_plans_latest(make_project, cast):
    project = make_project("launched")
    assert pointer(project) is None
    first, second = visits_of(project)[:2]
    assert pointer(project) is None
    one = report(first, cast.mentor)
    assert copied(project) == (one.pk, False, one.visited_on)
    two = report(second, cast.mentor, equipment_present=False, equipment_in_use=False)
    assert pointer(project) == two.pk
    assert copied(project) == (two.pk, True, two.visited_on) and two.risk_reasons
    assert VisitReport.objects.get(latest_of_plan__project=project) == two


def test_a_refused_report_leaves_the_pointer(make_project, cast):
    project = make_project("launched")
    first, second, *_ = visits_of(project)
    one = report(first, cast.mentor)
    with pytest.raises(TamkeenError):
        report(first, cast.mentor)  # already reported
    with pytest.raises(TamkeenError):
        report(visits_of(project)[2], cast.mentor)  # out of order
    assert pointer(project) == one.pk


def test_the_pointer_rolls_back_with_the_report(make_project, cast, monkeypatch):
    """Written in the report's transaction: a failure after it (here the at-risk signal)
    takes the report, the transition and the pointer back together."""
    project = make_project("launched")
    first = visits_of(project)[0]

    def boom(**kwargs):
        raise RuntimeError("receiver failed")

    signals.visit_at_risk.connect(boom, weak=False, dispatch_uid="test_latest_report.boom")
    try:
        with pytest.raises(RuntimeError):
            report(first, cast.mentor, equipment_present=False, equipment_in_use=False)
    finally:
        signals.visit_at_risk.disconnect(dispatch_uid="test_latest_report.boom")
    assert pointer(project) is None
    assert not VisitReport.objects.filter(visit=first).exists()
    assert FollowUpVisit.objects.get(pk=first.pk).state == "planned"


def test_the_migration_fills_the_latest_reported_visit(make_project, cast):
    """Migration 0003's data step (and ``refill_latest_reports``) point each plan at its
    highest reported visit's report and leave plans without a report empty."""
    twice, once, never = (make_project("launched") for _ in range(3))
    for visit in visits_of(twice)[:2]:
        report(visit, cast.mentor)
    report(visits_of(once)[0], cast.mentor, activity_running=False, stopped_reason="Fermé.", sales_channels=[],
           monthly_revenue="0", monthly_profit="0", equipment_in_use=False)
    projects = (twice, once, never)
    expected = {project.pk: copied(project) for project in projects}
    assert expected[never.pk] == (None, False, None) and expected[once.pk][1] is True
    assert expected[twice.pk][0] == VisitReport.objects.get(visit=visits_of(twice)[1]).pk

    def emptied():
        FollowUpPlan.objects.update(latest_report=None, latest_at_risk=False, latest_visited_on=None)
        assert {project.pk: copied(project) for project in projects} != expected

    emptied()
    importlib.import_module("followup.migrations.0003_plan_latest_report").fill_latest_report(apps, None)
    importlib.import_module("followup.migrations.0004_plan_latest_at_risk").fill_latest_at_risk(apps, None)
    assert {project.pk: copied(project) for project in projects} == expected

    emptied()
    assert FollowUpPlan.refill_latest_reports() == FollowUpPlan.objects.count()
    assert {project.pk: copied(project) for project in projects} == expected
