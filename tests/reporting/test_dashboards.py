"""The program dashboard (issue 7, item 3): pipeline per state, the envelope from the
ledger, beneficiaries by category and commune, follow-up outcomes; who may see it; the
SVG charts (accessible, mirrored in Arabic); a query budget independent of the number
of projects."""

import re
from datetime import date
from decimal import Decimal
from itertools import count

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from core.roles import Role
from disbursements import services as funding
from followup import services as followup_services
from reporting import selectors as figures
from reporting.charts import Bar, bar_chart
from reporting.views.dashboards import format_count
from workflow.models import ActivitySector, Beneficiary, Commune, GrantProject, Program, ProjectState

pytestmark = pytest.mark.django_db
PASSWORD = "pass-Tamkeen-2025"
URL = "/dashboards/"
_serial = count(1)


@pytest.fixture
def money_people(make_user, cast):
    return {
        "authorizer": make_user(Role.AUTHORIZING_OFFICER, username="ordonnateur"),
        "treasurer": make_user(Role.TREASURER, username="comptable"),
    }


@pytest.fixture
def known(make_project, make_beneficiary, program, cast, money_people):
    """A known program: 2 drafts, 1 submitted, 1 approved (40 000), 1 rejected, 1 in funding
    (55 000, 12 000.50 released); beneficiaries in Nador (4: 2 women, 1 disability,
    1 both) and Zaïo (2 women)."""
    zaio = Commune.objects.get(code="zaio")
    disabled = {"is_woman_in_difficulty": False, "has_disability": True, "disability_proof": "card", "gender": "M"}
    both = {"is_woman_in_difficulty": True, "has_disability": True, "disability_proof": "medical_certificate"}
    make_project("draft")
    make_project("draft", beneficiary=make_beneficiary(commune=zaio))
    make_project("submitted", beneficiary=make_beneficiary(**disabled))
    make_project("approved", amount="40000.00", beneficiary=make_beneficiary(**both))
    make_project("rejected", beneficiary=make_beneficiary(commune=zaio))
    funded = make_project("funding", amount="55000.00")
    request = funding.disbursement_request(project_id=funded.pk, actor=cast.finance, amount="12000.50")
    funding.disbursement_authorize(disbursement_id=request.pk, actor=money_people["authorizer"])
    funding.disbursement_release(disbursement_id=request.pk, actor=money_people["treasurer"], password=PASSWORD,
                                 payment_reference="VIR-1", idempotency_key="k1")
    return program


# --- Figures ------------------------------------------------------------------------------


def test_pipeline_lists_every_state_with_its_count(known):
    pipeline = figures.pipeline(known)
    assert [row.key for row in pipeline.rows] == list(ProjectState.values)
    counts = {row.key: row.value for row in pipeline.rows}
    assert counts == {**dict.fromkeys(ProjectState.values, 0),
                      "draft": 2, "submitted": 1, "approved": 1, "rejected": 1, "funding": 1}
    assert pipeline.total == 6


def test_envelope_figures_match_the_ledger(known):
    from disbursements.selectors import program_envelope_totals

    money = figures.envelope(known)
    ledger = program_envelope_totals(known)
    assert (money.envelope, money.committed, money.released) == (
        Decimal("1000000.00"), Decimal("95000.00"), Decimal("12000.50"))
    assert (money.committed, money.released, money.free) == (ledger.committed, ledger.released, ledger.free)
    assert money.free == Decimal("905000.00")
    assert money.committed_unreleased == Decimal("82999.50")


def test_beneficiaries_by_category_and_commune(known, make_project):
    other = Program.objects.create(code="other", name="Autre", year=2024, envelope=Decimal("1000"),
                                   project_ceiling=Decimal("1000"))
    make_project("draft", program=other, requested_amount="900.00", own_contribution="400.00")  # not counted
    people = figures.beneficiaries(known)
    assert {row.key: row.value for row in people.categories} == {"woman": 4, "disability": 1, "both": 1}
    assert people.total == 6
    assert [(row.key, row.value) for row in people.communes] == [("nador", 4), ("zaio", 2)]


def test_followup_outcomes_list_every_outcome(known):
    followup = figures.followup(known)
    assert [(row.key, row.value) for row in followup.outcomes] == [("success", 0), ("failed", 0), ("abandoned", 0)]


def test_default_program_is_the_current_years(db):
    from django.utils import timezone

    year = timezone.localdate().year
    older = Program.objects.create(code="old", name="Ancien", year=year - 1, envelope=1000, project_ceiling=100)
    current = Program.objects.create(code="cur", name="Courant", year=year, envelope=1000, project_ceiling=100)
    assert figures.default_program(figures.programs_for_choice()) == current
    assert figures.default_program([older]) == older
    assert figures.default_program([]) is None


# --- The page -----------------------------------------------------------------------------


def test_officer_sees_the_known_figures(client, known, cast):
    client.force_login(cast.officer)
    response = client.get(URL, {"program": known.pk})
    assert response.status_code == 200
    html = response.content.decode()
    assert re.search(r'data-state="draft"><th scope="row"><a href="[^"]*state=draft[^"]*">draft</a></th>'
                     r'<td class="num"><bdi dir="ltr">2</bdi></td>', html)
    assert 'data-state="closed"><th scope="row"><a href="/projects/?program=' in html
    assert "95\u202f000,00" not in html  # English formats with commas
    for amount in ("95,000.00", "12,000.50", "905,000.00"):
        assert f'<bdi dir="ltr">{amount}</bdi>\u00a0MAD' in html, amount
    assert re.search(r'data-category="both"><th scope="row">both</th><td class="num"><bdi dir="ltr">1</bdi></td>', html)
    assert re.search(r'data-commune="zaio"><th scope="row">[^<]+</th><td class="num"><bdi dir="ltr">2</bdi></td>', html)
    # Accessible inline SVG, no external asset.
    assert html.count('role="img"') >= 4
    assert '<title id="chart-pipeline-title">Projects per state</title>' in html
    assert "cdn" not in html.lower()
    # The links: the filtered project list and the exports.
    assert f"/projects/export.csv?program={known.pk}" in html


def test_pipeline_link_filters_the_project_list(client, known, cast):
    client.force_login(cast.officer)
    response = client.get(reverse("projects:index"), {"program": known.pk, "state": "draft"})
    assert response.status_code == 200
    assert len(response.context["projects"]) == 2
    response = client.get(reverse("projects:index"), {"program": known.pk + 1000, "state": "draft"})
    # An unknown program is a form error shown on the page; the list is then unfiltered.
    assert "program" in response.context["filter_form"].errors
    assert len(response.context["projects"]) == 6


def test_arabic_dashboard_is_mirrored_with_arabic_amounts(known, cast):
    client = Client(HTTP_ACCEPT_LANGUAGE="ar")
    client.force_login(cast.officer)
    html = client.get(URL, {"program": known.pk}).content.decode()
    assert 'direction="rtl"' in html
    assert '<bdi dir="ltr">95\u202f000,00</bdi>\u00a0د.م.' in html
    assert "الناظور" in html  # the commune's Arabic name


def test_unknown_program_falls_back_with_a_message(client, known, cast):
    client.force_login(cast.officer)
    response = client.get(URL, {"program": "nope"})
    assert response.status_code == 200
    assert 'data-code="not_found"' in response.content.decode()
    assert response.context["program"] == known


def test_no_program_is_an_explicit_empty_state(client, cast):
    client.force_login(cast.officer)
    response = client.get(URL)
    assert response.status_code == 200
    assert "No program yet" in response.content.decode()


@pytest.mark.parametrize("role,allowed", [
    (Role.PROGRAM_OFFICER, True), (Role.AUDITOR, True), (Role.ADMIN, True), (Role.FINANCE_OFFICER, True),
    (Role.TREASURER, True), (Role.ASSOCIATION_AGENT, False), (Role.COMMITTEE_MEMBER, False),
    (Role.MENTOR, False), (Role.TRAINER, False),
])
def test_who_sees_the_dashboard(client, make_user, program, role, allowed):
    client.force_login(make_user(role))
    assert client.get(URL).status_code == (200 if allowed else 403)


def test_anonymous_is_sent_to_login(client):
    response = client.get(URL)
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


# --- Charts -------------------------------------------------------------------------------


def test_bar_chart_escapes_labels_and_mirrors_in_rtl():
    bars = [Bar("<b>x</b>", 10, "10"), Bar("zero", 0, "0")]
    ltr = str(bar_chart("c", "T", "D", bars))
    rtl = str(bar_chart("c", "T", "D", bars, rtl=True))
    assert "<b>" not in ltr and "&lt;b&gt;" in ltr
    assert 'aria-labelledby="c-title c-desc"' in ltr
    def label_and_bar_x(svg):
        match = re.search(r'<text x="([\d.]+)"[^>]*>[^<]*</text><rect x="([\d.]+)"', svg)
        return float(match[1]), float(match[2])

    label, bar = label_and_bar_x(ltr)
    assert label < bar  # labels on the left, bars grow rightwards
    label, bar = label_and_bar_x(rtl)
    assert label > bar  # mirrored
    assert 'direction="rtl"' in rtl


def test_counts_are_grouped_per_locale():
    assert format_count(1234567, "en") == "1,234,567"
    assert format_count(1234567, "fr") == format_count(1234567, "ar") == "1\u202f234\u202f567"


# --- Query budget -------------------------------------------------------------------------


def fast_projects(program, n, user):
    """Rows in given states written directly — for read-only query counts only (no
    audit chain, no envelope events)."""
    commune = Commune.objects.get(code="nador")
    sector = ActivitySector.objects.get(code="sewing")
    serial = next(_serial) * 10000
    people = Beneficiary.objects.bulk_create([
        Beneficiary(first_name="F", last_name=f"N{i}", first_name_ar="ف", last_name_ar="ن", cin=f"Q{serial + i}",
                    phone="+212612345678", gender="F", birth_date=date(1990, 1, 1), commune=commune,
                    is_woman_in_difficulty=True, has_disability=bool(i % 3 == 0),
                    disability_proof="card" if i % 3 == 0 else "", created_by=user)
        for i in range(n)
    ])
    states = list(ProjectState.values)
    GrantProject.objects.bulk_create([
        GrantProject(program=program, beneficiary=person, title=f"P{i}", sector=sector, description="d",
                     requested_amount=Decimal("1000.00"), state=states[i % len(states)], created_by=user,
                     outcome="success" if states[i % len(states)] == "closed" else "")
        for i, person in enumerate(people)
    ])


def test_dashboard_queries_do_not_grow_with_projects(client, program, cast, django_assert_max_num_queries):
    user = User.objects.get(pk=cast.officer.pk)
    client.force_login(user)
    fast_projects(program, 10, user)
    client.get(URL, {"program": program.pk})  # warm caches (content types, permissions)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as with_10:
        assert client.get(URL, {"program": program.pk}).status_code == 200
    fast_projects(program, 190, user)
    with django_assert_max_num_queries(len(with_10)):
        response = client.get(URL, {"program": program.pk})
    assert response.status_code == 200
    assert figures.pipeline(program).total == 200


# --- Follow-up ----------------------------------------------------------------------------


def test_closed_outcomes_are_counted(make_project, program):
    make_project("closed")
    followup = figures.followup(program)
    assert [(row.key, row.value) for row in followup.outcomes] == [("success", 1), ("failed", 0), ("abandoned", 0)]


def test_at_risk_projects_come_from_the_visit_reports(client, cast, make_project, program):
    from django.utils import timezone

    from demo.scenarios import STABLE_VISIT
    from followup.models import FollowUpVisit

    stable, flagged = make_project("launched"), make_project("launched", title="Élevage de chèvres")
    visit = FollowUpVisit.objects.filter(project=flagged).order_by("sequence").first()
    followup_services.visit_report(visit_id=visit.pk, actor=cast.mentor,
                          **{**STABLE_VISIT, "visited_on": timezone.localdate(), "activity_running": False,
                             "stopped_reason": "Local fermé.", "sales_channels": []})
    client.force_login(cast.officer)
    html = client.get(URL, {"program": program.pk}).content.decode()
    assert f'data-project="{flagged.pk}"><a href="/projects/{flagged.pk}/"><bdi dir="ltr">{flagged.reference}</bdi></a>' in html
    assert f'data-project="{stable.pk}"' not in html
    assert "the activity has stopped" in html
