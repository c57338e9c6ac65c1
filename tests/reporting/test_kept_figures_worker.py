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
