"""End to end with a real Celery worker (not eager mode): the beat task goes through the
broker to the worker, which recomputes the kept dashboard figures of the program that
changed and only those; run twice, it changes nothing. The data is committed
(transactional database) for the worker's connection to see it."""

import pytest

from demo.scenarios import drive
from reporting import selectors as figures
from reporting import snapshot
from reporting.models import ProgramFigures
from reporting.tasks import refresh_dashboards

pytestmark = [
    pytest.mark.live_worker,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("reference_data"),
]


def tick():
    """What beat does: send the task through the broker; wait for the worker's answer."""
    return refresh_dashboards.apply_async(ignore_result=False).get(timeout=60)


def test_the_worker_recomputes_the_program_that_changed(live_worker, make_project, cast, program):
    draft = make_project("draft")
    assert tick()["refreshed"] == [program.code]
    assert tick() == {"refreshed": [], "unchanged": [program.code], "all_changed": False}

    drive(draft, "submitted", cast)
    assert tick()["refreshed"] == [program.code]
    kept = snapshot.load(ProgramFigures.objects.get(program=program).figures)
    assert kept == figures.figure_counts(program) and kept["pipeline"]["submitted"] == 1


def test_refresh_now_on_a_large_program_is_done_by_the_worker(live_worker, client, make_project, cast, program,
                                                              settings):
    import time

    from reporting.services import program_figures_refresh

    make_project("draft")
    program_figures_refresh(program=program)
    make_project("draft")
    settings.TAMKEEN_DASHBOARD_INLINE_REFRESH_FILES = 0  # every program counts as large
    client.force_login(cast.officer)
    assert client.post("/dashboards/refresh/", {"program": program.pk}).status_code == 302
    deadline = time.monotonic() + 60
    while snapshot.load(ProgramFigures.objects.get(program=program).figures)["pipeline"]["draft"] != 2:
        assert time.monotonic() < deadline, "the worker did not recompute the figures"
        time.sleep(0.2)
    assert snapshot.load(ProgramFigures.objects.get(program=program).figures) == figures.figure_counts(program)
