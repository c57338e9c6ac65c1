"""The program dashboard reads kept figures (issue 16): ``reporting.ProgramFigures``,
computed by the selectors, recomputed by beat when the program's files changed, by
"Refresh now" and by ``manage.py refresh_dashboards``; the money and the first projects
at risk stay live."""

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from core.roles import Role
from demo.scenarios import STABLE_VISIT, drive
from followup import services as followup_services
from followup.models import FollowUpVisit
from reporting import changes, snapshot
from reporting import selectors as figures
from reporting.models import ProgramFigures
from reporting.services import program_figures_refresh, program_figures_refresh_changed
from reporting.tasks import refresh_dashboards
from tests.reporting.test_dashboards import fast_projects
from workflow.models import Program

pytestmark = pytest.mark.django_db
URL = "/dashboards/"
REFRESH = "/dashboards/refresh/"


def kept_counts(program):
    return snapshot.load(ProgramFigures.objects.get(program=program).figures)


def report_visit(project, mentor, **changes_):
    visit = FollowUpVisit.objects.filter(project=project, state="planned").order_by("sequence").first()
    followup_services.visit_report(visit_id=visit.pk, actor=mentor,
                                   **{**STABLE_VISIT, "visited_on": timezone.localdate(), **changes_})


@pytest.fixture
def other_program(db):
    return Program.objects.create(code="other-2025", name="AGR Driouch", year=2025,
                                  envelope=Decimal("500000.00"), project_ceiling=Decimal("100000.00"))


# --- What is kept -------------------------------------------------------------------------


def test_the_kept_figures_are_the_selectors_figures_after_transitions(cast, make_project, program):
    launched, draft = make_project("launched"), make_project("draft")
    make_project("closed")
    report_visit(launched, cast.mentor, monthly_revenue="4321.50", monthly_profit="1000.25", jobs_created=2)
    program_figures_refresh(program=program)
    assert kept_counts(program) == figures.figure_counts(program)

    drive(draft, "submitted", cast)
    report_visit(launched, cast.mentor, activity_running=False, stopped_reason="Local fermé.", sales_channels=[])
    assert kept_counts(program) != figures.figure_counts(program)  # kept, not live
    program_figures_refresh(program=program)
    counts = kept_counts(program)
    assert counts == figures.figure_counts(program)
    assert counts["pipeline"]["submitted"] == 1 and counts["pipeline"]["draft"] == 0
    assert counts["followup"]["at_risk"] == 1
    # Decimals are stored as exact strings, never floats; no label is stored.
    stored = ProgramFigures.objects.get(program=program).figures
    assert stored["followup"]["latest"]["monthly_revenue_total"] == str(counts["followup"]["latest"]["monthly_revenue_total"])
    assert isinstance(stored["followup"]["equipment_recovered"]["value"], str)
    assert "float" not in json.dumps(stored) and "Projects" not in json.dumps(stored)
    assert isinstance(counts["followup"]["latest"]["monthly_revenue_total"], Decimal)


def test_a_float_is_refused_and_another_format_is_recomputed():
    with pytest.raises(TypeError):
        snapshot.dump({"pipeline": {}, "beneficiaries": {}, "followup": {"latest": {"revenue": 1.5}}})
    assert snapshot.load({"format": snapshot.FORMAT + 1}) is None
    assert snapshot.load({"format": snapshot.FORMAT, "pipeline": {}}) is None


def test_labels_are_translated_when_the_page_is_drawn(cast, make_project, program):
    make_project("draft")
    program_figures_refresh(program=program)
    english, arabic = Client(HTTP_ACCEPT_LANGUAGE="en"), Client(HTTP_ACCEPT_LANGUAGE="ar")
    english.force_login(cast.officer)
    arabic.force_login(cast.officer)
    assert '<title id="chart-pipeline-title">Projects per state</title>' in english.get(URL).content.decode()
    html = arabic.get(URL).content.decode()
    assert "Projects per state" not in html and "الناظور" in html  # the commune in Arabic


# --- The page -----------------------------------------------------------------------------


def test_a_fresh_install_computes_the_figures_on_first_view(client, cast, make_project, program):
    make_project("draft")
    assert not ProgramFigures.objects.exists()
    client.force_login(cast.officer)
    html = client.get(URL, {"program": program.pk}).content.decode()
    kept = ProgramFigures.objects.get(program=program)
    assert kept_counts(program) == figures.figure_counts(program)
    assert 'data-state="draft"><th scope="row"><a' in html and "Figures as of" in html
    assert kept.ledger_id > 0


def test_the_page_shows_kept_figures_with_their_time_until_refreshed(client, cast, make_project, program):
    draft = make_project("draft")
    program_figures_refresh(program=program)
    ProgramFigures.objects.update(computed_at=datetime(2026, 6, 1, 9, 30, tzinfo=UTC))
    drive(draft, "submitted", cast)
    client.force_login(cast.officer)
    html = client.get(URL, {"program": program.pk}).content.decode()
    # Still the kept counts: one draft, no file submitted, and the time they date from
    # in the local time (Casablanca is UTC+1 in June 2026).
    assert 'data-state="draft"><th scope="row"><a href="/projects/?program=' in html
    assert '>draft</a></th><td class="num"><bdi dir="ltr">1</bdi>' in html
    assert '>submitted</a></th><td class="num"><bdi dir="ltr">0</bdi>' in html
    assert 'Figures as of <time datetime="2026-06-01T10:30:00+01:00"><bdi dir="ltr">01/06/2026 10:30</bdi></time>.' in html

    response = client.post(REFRESH, {"program": program.pk})
    assert response.status_code == 302 and response["Location"] == f"{URL}?program={program.pk}"
    html = client.get(response["Location"]).content.decode()
    assert '>submitted</a></th><td class="num"><bdi dir="ltr">1</bdi>' in html
    assert "01/06/2026" not in html
    assert ProgramFigures.objects.get(program=program).computed_at > timezone.now() - timedelta(minutes=1)


def test_the_money_is_read_live(client, cast, make_project, program):
    """The envelope is never kept: an approval after the figures were computed shows at once."""
    program_figures_refresh(program=program)
    make_project("approved", amount="40000.00")
    client.force_login(cast.officer)
    html = client.get(URL, {"program": program.pk}).content.decode()
    assert '<bdi dir="ltr">40,000.00</bdi>\u00a0MAD' in html
    assert "Live: read from the envelope ledger" in html


def test_the_page_costs_the_same_queries_with_2_and_40_projects(client, cast, program):
    client.force_login(cast.officer)
    fast_projects(program, 2, cast.officer)
    program_figures_refresh(program=program)
    client.get(URL, {"program": program.pk})  # warm the per-process caches

    def queries():
        with CaptureQueriesContext(connection) as captured:
            response = client.get(URL, {"program": program.pk})
        assert response.status_code == 200
        return len(captured.captured_queries), response.content.decode()

    small, _ = queries()
    fast_projects(program, 38, cast.officer)
    program_figures_refresh(program=program)
    large, html = queries()
    assert small == large
    assert figures.pipeline(program).total == 40 == sum(kept_counts(program)["pipeline"].values())
    assert 'Total</th><td class="num"><bdi dir="ltr">40</bdi>' in html


# --- "Refresh now" ------------------------------------------------------------------------


@pytest.mark.parametrize("role,allowed", [
    (Role.PROGRAM_OFFICER, True), (Role.AUDITOR, True), (Role.TREASURER, True),
    (Role.ASSOCIATION_AGENT, False), (Role.MENTOR, False),
])
def test_who_may_refresh(client, make_user, program, role, allowed):
    client.force_login(make_user(role))
    response = client.post(REFRESH, {"program": program.pk})
    assert response.status_code == (302 if allowed else 403)
    assert ProgramFigures.objects.filter(program=program).exists() == allowed


def test_refresh_needs_a_post_and_a_known_program(client, cast, program):
    client.force_login(cast.officer)
    assert client.get(REFRESH, {"program": program.pk}).status_code == 405
    for wanted in ("", "nope", str(program.pk + 1000), "9" * 40):
        response = client.post(REFRESH, {"program": wanted})
        assert response.status_code == 404, wanted
        assert 'data-code="not_found"' in response.content.decode()
    assert not ProgramFigures.objects.exists()


def test_refresh_checks_the_csrf_token(cast, program):
    client = Client(enforce_csrf_checks=True)
    client.force_login(cast.officer)
    assert client.post(REFRESH, {"program": program.pk}).status_code == 403
    page = client.get(URL, {"program": program.pk}).content.decode()
    assert f'action="{REFRESH}"' in page and 'name="csrfmiddlewaretoken"' in page


def test_anonymous_refresh_goes_to_login(client, program):
    response = client.post(REFRESH, {"program": program.pk})
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


# --- Beat ---------------------------------------------------------------------------------


# The beat and the command run in their own transactions: on PostgreSQL a test's wrapping
# transaction would stay "running" under every horizon, and its entries newer than any
# figures. The tests of "only what changed" commit.
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("reference_data")
def test_beat_recomputes_only_the_programs_that_changed(cast, make_project, program, other_program):
    here, there = make_project("draft"), make_project("launched", program=other_program)
    first = refresh_dashboards()
    assert sorted(first["refreshed"]) == sorted([program.code, other_program.code])
    assert refresh_dashboards() == {"refreshed": [], "unchanged": sorted([program.code, other_program.code]),
                                    "all_changed": False}

    before = ProgramFigures.objects.get(program=other_program).computed_at
    drive(here, "submitted", cast)
    run = program_figures_refresh_changed()
    assert run.refreshed == [program.code] and run.unchanged == [other_program.code]
    assert kept_counts(program) == figures.figure_counts(program)
    assert ProgramFigures.objects.get(program=other_program).computed_at == before

    report_visit(there, cast.mentor)  # a visit's entry belongs to its file's program
    assert program_figures_refresh_changed().refreshed == [other_program.code]
    assert kept_counts(other_program) == figures.figure_counts(other_program)

    make_project("draft", program=other_program)
    assert program_figures_refresh_changed().refreshed == [other_program.code]
    assert program_figures_refresh_changed().refreshed == []


def test_beat_recomputes_figures_computed_before_today(program):
    program_figures_refresh(program=program)
    assert program_figures_refresh_changed().refreshed == []
    ProgramFigures.objects.update(computed_at=timezone.now() - timedelta(days=1))
    assert program_figures_refresh_changed().refreshed == [program.code]  # visits fall due by the day


def test_beat_computes_a_program_without_figures(program, other_program):
    program_figures_refresh(program=program)
    assert program_figures_refresh_changed().refreshed == [other_program.code]


def test_too_many_new_entries_recompute_every_program(cast, make_project, program, other_program, monkeypatch):
    refresh_dashboards()
    monkeypatch.setattr(changes, "MAX_ENTRIES", 1)
    make_project("draft"), make_project("draft")  # two entries
    run = program_figures_refresh_changed()
    assert run.all_changed and sorted(run.refreshed) == sorted([program.code, other_program.code])


def test_an_entry_of_a_transaction_older_than_the_horizon_is_seen():
    """PostgreSQL: an entry whose id is below the newest id seen, but whose transaction
    was still running when the figures were read, is newer than them."""
    kept = ProgramFigures(ledger_id=100, ledger_horizon=5000)
    assert changes._is_newer(101, 4000, kept)  # a later id
    assert changes._is_newer(90, 5000, kept)  # an earlier id, a transaction then running
    assert not changes._is_newer(90, 4999, kept)  # committed before the read: in the figures
    assert not changes._is_newer(90, None, ProgramFigures(ledger_id=100, ledger_horizon=None))


def test_the_refresh_is_in_the_beat_schedule(settings):
    from celery import current_app

    entries = [entry for entry in settings.CELERY_BEAT_SCHEDULE.values()
               if entry["task"] == "reporting.tasks.refresh_dashboards"]
    assert len(entries) == 1 and entries[0]["schedule"] == settings.TAMKEEN_DASHBOARD_REFRESH_SECONDS > 0
    assert "reporting.tasks.refresh_dashboards" in current_app.tasks


# --- Concurrency --------------------------------------------------------------------------


def test_older_figures_never_replace_newer_ones(cast, make_project, program):
    """Two refreshes at once: the one that read later wins, whichever stores last."""
    from reporting.services import _upsert

    program_figures_refresh(program=program)
    newer = ProgramFigures.objects.get(program=program)
    _upsert(ProgramFigures(program_id=program.pk, computed_at=newer.computed_at - timedelta(seconds=1),
                           figures={"format": 0}, ledger_id=0, ledger_horizon=None, checked_at=newer.checked_at))
    assert ProgramFigures.objects.get(program=program).figures == newer.figures
    program_figures_refresh(program=program)
    assert ProgramFigures.objects.get(program=program).computed_at > newer.computed_at


# --- The command --------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("reference_data")
def test_the_command_recomputes_every_program_or_one(cast, make_project, program, other_program):
    make_project("draft")
    out = StringIO()
    call_command("refresh_dashboards", stdout=out)
    assert f"[2/2] {other_program.code}" in out.getvalue() and "2 program(s) recomputed" in out.getvalue()
    assert ProgramFigures.objects.count() == 2

    drive(make_project("draft"), "submitted", cast)
    out = StringIO()
    call_command("refresh_dashboards", "--program", program.code, stdout=out)
    assert f"[1/1] {program.code}" in out.getvalue()
    assert kept_counts(program) == figures.figure_counts(program)

    out = StringIO()
    call_command("refresh_dashboards", "--changed", stdout=out)
    assert "0 program(s) recomputed, 2 unchanged" in out.getvalue()
    with pytest.raises(CommandError, match="No program with the code 'nope'"):
        call_command("refresh_dashboards", "--program", "nope")
    with pytest.raises(CommandError):
        call_command("refresh_dashboards", "--program", program.code, "--changed")
