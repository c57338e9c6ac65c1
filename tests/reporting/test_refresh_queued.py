""""Refresh now" on a large program: the request hands the recomputation to the worker and
stays constant; a small program is recomputed in the request; an unreachable broker falls
back to the request."""

import pytest
from django.urls import reverse

from reporting import selectors as figures
from reporting import snapshot
from reporting.models import ProgramFigures
from reporting.services import program_figures_refresh
from reporting.tasks import refresh_program_figures

REFRESH = "/dashboards/refresh/"


@pytest.fixture
def sent(monkeypatch):
    """The tasks sent to the broker, instead of sending them: a real message would stay
    in the test run's broker for a worker to run later (the live-worker test,
    ``test_kept_figures_worker.py``, sends it through a real broker to a real worker)."""
    calls = []
    monkeypatch.setattr(refresh_program_figures, "delay", lambda *args: calls.append(args))
    return calls


def kept_counts(program):
    return snapshot.load(ProgramFigures.objects.get(program=program).figures)


def test_a_large_program_is_recomputed_by_the_worker(client, cast, make_project, program, settings, sent):
    make_project("draft")
    program_figures_refresh(program=program)
    before = ProgramFigures.objects.get(program=program).computed_at
    make_project("draft")  # a change the kept figures do not hold yet
    settings.TAMKEEN_DASHBOARD_INLINE_REFRESH_FILES = 0
    client.force_login(cast.officer)
    response = client.post(REFRESH, {"program": program.pk}, follow=True)
    assert response.status_code == 200
    assert sent == [(program.pk,)]
    assert ProgramFigures.objects.get(program=program).computed_at == before  # not in the request
    page = response.content.decode()
    assert f"The figures of {program.name} (1 file) are being recomputed in the background" in page
    # What the worker runs: the figures then hold the change.
    assert refresh_program_figures(program.pk) == {"refreshed": program.code}
    assert kept_counts(program) == figures.figure_counts(program)
    assert kept_counts(program)["pipeline"]["draft"] == 2


def test_a_small_program_is_recomputed_in_the_request(client, cast, make_project, program, sent):
    make_project("draft")
    program_figures_refresh(program=program)
    make_project("draft")
    client.force_login(cast.officer)
    response = client.post(REFRESH, {"program": program.pk}, follow=True)
    assert sent == []
    assert kept_counts(program)["pipeline"]["draft"] == 2
    assert f"The figures of {program.name} were recomputed." in response.content.decode()


def test_a_program_without_figures_is_computed_in_the_request(client, cast, make_project, program, settings, sent):
    make_project("draft")
    settings.TAMKEEN_DASHBOARD_INLINE_REFRESH_FILES = 0
    client.force_login(cast.officer)
    client.post(REFRESH, {"program": program.pk})
    assert sent == [] and kept_counts(program)["pipeline"]["draft"] == 1


def test_an_unreachable_broker_recomputes_in_the_request(client, cast, make_project, program, settings,
                                                         monkeypatch):
    def refuse(*args):
        raise ConnectionRefusedError("no broker")

    make_project("draft")
    program_figures_refresh(program=program)
    make_project("draft")
    settings.TAMKEEN_DASHBOARD_INLINE_REFRESH_FILES = 0
    monkeypatch.setattr(refresh_program_figures, "delay", refuse)
    client.force_login(cast.officer)
    response = client.post(REFRESH, {"program": program.pk}, follow=True)
    assert kept_counts(program)["pipeline"]["draft"] == 2
    assert f"The figures of {program.name} were recomputed." in response.content.decode()


def test_the_task_skips_a_program_that_is_gone(db):
    assert refresh_program_figures(987654) == {"refreshed": None}
    assert not ProgramFigures.objects.exists()


def test_the_refresh_button_still_needs_the_dashboard_permission(client, make_user, program, settings, sent):
    settings.TAMKEEN_DASHBOARD_INLINE_REFRESH_FILES = 0
    client.force_login(make_user("trainer"))
    assert client.post(REFRESH, {"program": program.pk}).status_code == 403
    assert sent == [] and reverse("dashboards:refresh") == REFRESH
