"""The follow-up screens (issue 6, item 5) through the Django test client: the mentor's
visits, the visit report form, a project's follow-up page, the at-risk list, the
mentor's assignment and the closure form. Refused posts save nothing."""

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from core.roles import Role
from demo.scenarios import STABLE_VISIT, report_followup
from followup import services as followup_services
from followup.models import EquipmentRecovery, FollowUpVisit, VisitReport
from followup.views import AtRiskListView
from tests._pager import pager_link
from tests._web import as_user, html_of, unisolated
from workflow.models import GrantProject

pytestmark = pytest.mark.django_db


@pytest.fixture
def launched(make_project):
    return make_project("launched")


def url(name, *args, **query):
    address = reverse(f"followup:{name}", args=args)
    if query:
        address += "?" + "&".join(f"{key}={value}" for key, value in query.items())
    return address


def first_visit(project):
    return FollowUpVisit.objects.filter(project=project).order_by("sequence").first()


GOOD_POST = {
    "visited_on": "", "activity_running": "yes", "monthly_revenue": "4 800,00", "monthly_profit": "1500",
    "jobs_created": "1", "equipment_present": "yes", "equipment_in_use": "yes",
    "legal_status": "auto_entrepreneur", "sales_channels": ["souk", "home"], "income_control": "beneficiary",
    "debts": "0", "difficulties": "", "recommendation": "continue",
}


def good_post(**overrides):
    return {**GOOD_POST, "visited_on": timezone.localdate().isoformat(), **overrides}


def test_anonymous_visitors_are_sent_to_the_login_page(launched):
    visit = first_visit(launched)
    for address in (url("index"), url("visit", visit.pk), url("report", visit.pk), url("project", launched.pk),
                    url("close", launched.pk), url("mentor", launched.pk), url("at_risk")):
        response = Client().get(address)
        assert response.status_code == 302 and "login" in response["Location"], address


def test_the_mentor_sees_their_visits_and_an_empty_state_otherwise(launched, cast, make_user, client):
    html = html_of(as_user(client, cast.mentor).get(url("index")))
    assert html.count("tamkeen-visit-row") == 4
    assert url("report", first_visit(launched).pk) in html
    assert html_of(client.get(url("index", when="due"))).count("tamkeen-visit-row") == 0
    assert html_of(client.get(url("index", when="upcoming"))).count("tamkeen-visit-row") == 4
    other = make_user(Role.MENTOR)
    html = html_of(as_user(Client(), other).get(url("index")))
    assert "tamkeen-visit-row" not in html
    assert "No visit is assigned to you." in html


def test_the_visit_list_is_searchable_and_paginated(make_project, cast, client, program):
    project = make_project("launched")
    as_user(client, cast.officer)
    html = html_of(client.get(url("index", q=project.reference)))
    assert html.count("tamkeen-visit-row") == 4
    html = html_of(client.get(url("index", q="no-such-title")))
    assert "No visit matches." in html
    program.followup_offsets = list(range(1, 25))
    program.save()
    make_project("launched")
    first_page = unisolated(html_of(client.get(url("index"))))
    assert first_page.count("tamkeen-visit-row") == 20
    second_page = html_of(client.get(url("index") + pager_link(first_page)))
    assert second_page.count("tamkeen-visit-row") == 8 and pager_link(second_page) is None


def test_the_assigned_mentor_reports_through_the_form(launched, cast, client):
    visit = first_visit(launched)
    as_user(client, cast.mentor)
    html_of(client.get(url("report", visit.pk)))
    response = client.post(url("report", visit.pk), good_post())
    assert response.status_code == 302 and response["Location"] == url("project", launched.pk)
    report = VisitReport.objects.get(visit=visit)
    assert (str(report.monthly_revenue), report.sales_channels) == ("4800.00", ["home", "souk"])
    html = html_of(client.get(url("project", launched.pk)))
    assert "1 of 4 visits reported" in html
    # Reported once: the form sends back to the visit.
    response = client.get(url("report", visit.pk))
    assert response.status_code == 302 and response["Location"] == url("visit", visit.pk)
    assert "4,800.00" in unisolated(html_of(client.get(url("visit", visit.pk))))


def test_a_bad_report_comes_back_with_field_errors_and_saves_nothing(launched, cast, client):
    visit = first_visit(launched)
    as_user(client, cast.mentor)
    response = client.post(url("report", visit.pk), good_post(
        activity_running="no", stopped_reason="", monthly_revenue="-5", equipment_present="no",
    ))
    html = html_of(response)
    form = response.context["form"]
    assert {"stopped_reason", "monthly_revenue", "equipment_in_use"} <= set(form.errors)
    assert "Say why the activity is not running." in html
    assert not VisitReport.objects.exists()
    assert FollowUpVisit.objects.get(pk=visit.pk).state == "planned"


def test_someone_else_cannot_open_the_report_form(launched, cast, make_user, client):
    visit = first_visit(launched)
    other = make_user(Role.MENTOR)
    assert as_user(client, other).get(url("report", visit.pk)).status_code == 403
    assert client.post(url("report", visit.pk), good_post()).status_code == 403
    assert as_user(Client(), cast.officer).post(url("report", visit.pk), good_post()).status_code == 403
    assert as_user(Client(), other).get(url("project", launched.pk)).status_code == 403
    assert not VisitReport.objects.exists()


def test_the_at_risk_list_shows_flagged_projects_with_their_reasons(launched, make_project, cast, client):
    html = html_of(as_user(client, cast.officer).get(url("at_risk")))
    assert "No project is at risk." in html
    followup_services.visit_report(visit_id=first_visit(launched).pk, actor=cast.mentor,
                          **{**STABLE_VISIT, "visited_on": timezone.localdate(), "equipment_present": False,
                             "equipment_in_use": False})
    html = html_of(client.get(url("at_risk")))
    assert html.count("tamkeen-at-risk-row") == 1
    assert launched.reference in html and "equipment is missing" in html
    assert "No project at risk matches." in html_of(client.get(url("at_risk", q="zzz")))
    assert "equipment is missing" in html_of(client.get(url("project", launched.pk)))
    # Mentors do not get the officers' list.
    assert as_user(Client(), cast.mentor).get(url("at_risk")).status_code == 403


def test_the_at_risk_list_pages_on_its_keyset_newest_visit_first(launched, make_project, cast, client,
                                                                 monkeypatch):
    """The list reads only its page's plans (each keeps its latest report), newest visit
    first, and "More" leads to the next one."""
    monkeypatch.setattr(AtRiskListView, "paginate_by", 1)
    older, newer = launched, make_project("launched")
    for project in (older, newer):  # the same day: the later report first
        followup_services.visit_report(visit_id=first_visit(project).pk, actor=cast.mentor,
                                       **{**STABLE_VISIT, "visited_on": timezone.localdate(),
                                          "equipment_present": False, "equipment_in_use": False})
    as_user(client, cast.officer)
    first = html_of(client.get(url("at_risk")))
    assert first.count("tamkeen-at-risk-row") == 1 and newer.reference in first and older.reference not in first
    following = client.get(url("at_risk") + pager_link(first))
    second = html_of(following)
    assert second.count("tamkeen-at-risk-row") == 1 and older.reference in second
    assert pager_link(second) is None
    # A search keeps to the project list's matches (a reference here).
    found = html_of(client.get(url("at_risk", q=older.reference)))
    assert found.count("tamkeen-at-risk-row") == 1 and older.reference in found


def test_the_officer_closes_with_confirmation_and_an_outcome(launched, cast, client):
    as_user(client, cast.officer)
    html = html_of(client.get(url("close", launched.pk)))
    assert "0 of 4 visits reported" in html
    # No confirmation: nothing happens.
    response = client.post(url("close", launched.pk), {"outcome": "abandoned", "reason": "Départ."})
    assert "confirm" in response.context["form"].errors
    # Success before the plan is finished: refused on the form.
    response = client.post(url("close", launched.pk), {"outcome": "success", "confirm": "on"})
    assert "The follow-up plan is not finished" in html_of(response)
    assert GrantProject.objects.get(pk=launched.pk).state == "launched"
    response = client.post(url("close", launched.pk), {
        "outcome": "abandoned", "reason": "Départ de la bénéficiaire.", "confirm": "on",
        "recovered_items": "Four professionnel", "recovered_value": "7000",
    })
    assert response.status_code == 302
    project = GrantProject.objects.get(pk=launched.pk)
    assert (project.state, project.outcome) == ("closed", "abandoned")
    assert EquipmentRecovery.objects.get(project=project).items == "Four professionnel"
    html = html_of(client.get(url("project", launched.pk)))
    assert "Four professionnel" in html and url("close", launched.pk) not in html


def test_success_closes_once_every_visit_is_reported(launched, cast, client):
    report_followup(launched.pk, cast)
    as_user(client, cast.officer)
    assert "Every follow-up visit is reported" in html_of(client.get(url("close", launched.pk)))
    response = client.post(url("close", launched.pk), {"outcome": "success", "confirm": "on"})
    assert response.status_code == 302
    assert GrantProject.objects.get(pk=launched.pk).outcome == "success"


def test_only_officers_close_and_assign(launched, cast, client):
    as_user(client, cast.mentor)
    assert client.get(url("close", launched.pk)).status_code == 403
    assert client.post(url("mentor", launched.pk), {"mentor": cast.mentor.pk}).status_code == 403


def test_the_officer_assigns_a_mentor(make_project, cast, make_user, client):
    project = make_project("equipped")
    followup_services.project_launch(project_id=project.pk, actor=cast.officer)
    as_user(client, cast.officer)
    assert "not assigned" in html_of(client.get(url("project", project.pk)))
    response = client.post(url("mentor", project.pk), {"mentor": cast.agent.pk})  # not a mentor
    assert "mentor" in response.context["form"].errors
    other = make_user(Role.MENTOR)
    response = client.post(url("mentor", project.pk), {"mentor": other.pk})
    assert response.status_code == 302
    assert set(FollowUpVisit.objects.filter(project=project).values_list("mentor_id", flat=True)) == {other.pk}


def test_a_project_not_launched_shows_an_explicit_empty_plan(make_project, cast, client):
    project = make_project("funding")
    html = html_of(as_user(client, cast.officer).get(url("project", project.pk)))
    assert "The follow-up plan is made when the project is launched." in html


def test_the_officers_inbox_flags_the_closure_task_of_an_at_risk_project(client, make_project, cast, committed):
    with committed():
        launched = make_project("launched")
    with committed():
        followup_services.visit_report(visit_id=first_visit(launched).pk, actor=cast.mentor,
                              **{**STABLE_VISIT, "visited_on": timezone.localdate(),
                                 "equipment_present": False, "equipment_in_use": False})
    page = html_of(as_user(client, cast.officer).get(reverse("inbox:index")))
    assert launched.reference in page
    assert "At risk" in page and "equipment" in page.lower()


def test_a_stable_project_is_not_flagged_in_the_inbox(client, make_project, cast, committed):
    with committed():
        launched = make_project("launched")
    page = html_of(as_user(client, cast.officer).get(reverse("inbox:index")))
    assert launched.reference in page
    assert "At risk" not in page


# --- Opened from the inbox: back to it ---------------------------------------------------------


def test_a_visit_reported_from_the_inbox_goes_back_to_it(launched, cast, client):
    visit = first_visit(launched)
    as_user(client, cast.mentor)
    response = client.post(url("report", visit.pk, next="/inbox/"), good_post())
    assert (response.status_code, response["Location"]) == (302, "/inbox/")
    assert FollowUpVisit.objects.get(pk=visit.pk).state == "reported"


def test_a_closure_from_the_inbox_goes_back_to_it(launched, cast, client):
    report_followup(launched.pk, cast)
    as_user(client, cast.officer)
    response = client.post(url("close", launched.pk, next="/inbox/"), {"outcome": "success", "confirm": "on"})
    assert (response.status_code, response["Location"]) == (302, "/inbox/")
    assert GrantProject.objects.get(pk=launched.pk).state == "closed"


def test_a_next_page_on_another_site_is_ignored(launched, cast, client):
    report_followup(launched.pk, cast)
    as_user(client, cast.officer)
    response = client.post(url("close", launched.pk, next="https://elsewhere.example/"),
                           {"outcome": "success", "confirm": "on"})
    assert response["Location"] == url("project", launched.pk)
