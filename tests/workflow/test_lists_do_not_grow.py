"""Lists whose cost does not grow with their rows (issue 16): the same number of queries
with 3 rows and with 30 behind the page, and viewflow's queue with a filter of the
flow's steps, not one option per process."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from core.roles import Role
from notifications.models import NotificationKind
from notifications.services import notify
from tests._pager import pager_link
from tests._web import as_user

pytestmark = pytest.mark.django_db


def queries(client, url) -> tuple[int, str]:
    client.get(url)  # warm the per-process caches
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return len(captured), response.content.decode()


def same_with_3_and_30(client, url, grow):
    grow(3)
    small, _ = queries(client, url)
    grow(27)
    large, html = queries(client, url)
    assert small == large, f"{url}: {small} queries with 3 rows, {large} with 30"
    return html


def test_the_people_list(client, make_user):
    admin = make_user(Role.ADMIN, username="admin-1")
    as_user(client, admin)
    grown = iter(range(100))

    def grow(n):
        for _ in range(n):
            make_user(Role.MENTOR, username=f"mentor-{next(grown):03d}")

    html = same_with_3_and_30(client, reverse("people:index"), grow)
    assert pager_link(html)  # 31 people: a second page


def test_my_notifications(client, make_user):
    me = make_user(Role.MENTOR)
    as_user(client, me)
    grown = iter(range(100))

    def grow(n):
        for _ in range(n):
            i = next(grown)
            notify(recipient=me, kind=NotificationKind.REMINDER, template="deadline_reminder",
                   link=f"/projects/{i + 1}/", dedupe_key=f"grow:{i}",
                   params={"step": "screening", "reference": f"AGR-{i + 1:04d}", "since": timezone.now().isoformat(),
                           "days": 3, "remind_days": 1, "escalate_days": 9})

    html = same_with_3_and_30(client, "/notifications/", grow)
    assert pager_link(html)


def test_a_project_search(client, cast, make_project):
    as_user(client, cast.officer)

    def grow(n):
        for _ in range(n):
            make_project("draft", title="Atelier de couture")

    html = same_with_3_and_30(client, reverse("projects:index") + "?q=couture", grow)
    assert html.count("tamkeen-project-row") == 20 and pager_link(html)


def test_viewflows_queue_lists_the_flows_steps_not_one_option_per_process(client, cast, make_project):
    as_user(client, cast.officer)

    def grow(n):
        for _ in range(n):
            make_project("submitted")

    html = same_with_3_and_30(client, "/grant/queue/", grow)
    options = re.findall(r"<option\b", html)
    assert 0 < len(options) < 30, len(options)  # the flow's steps and the date ranges
    assert "Examen de l" in html or "Screening" in html or "screening" in html
    # The filter still filters.
    screening = client.get("/grant/queue/", {"flow_task": "workflow/flows.GrantFlow.screening"})
    assert screening.status_code == 200


def test_viewflows_queue_counts_only_up_to_its_cap(client, cast, make_project, monkeypatch):
    """The queue's numbered pages count at most ``CappedPaginator.cap`` rows (a bounded
    COUNT): past the cap, the summary says "more than" and the pages stop there."""
    from core.pagination import CappedPaginator

    monkeypatch.setattr(CappedPaginator, "cap", 4)
    as_user(client, cast.officer)
    for _ in range(6):
        make_project("submitted")
    with CaptureQueriesContext(connection) as captured:
        response = client.get("/grant/queue/")
    assert response.status_code == 200
    paginator = response.context["paginator"]
    assert (paginator.count, paginator.capped) == (4, True)
    counts = [q["sql"] for q in captured.captured_queries if q["sql"].startswith('SELECT COUNT(*) FROM (SELECT "viewflow_task"')]
    assert counts and all(sql.endswith("LIMIT 5) subquery") for sql in counts), counts
    monkeypatch.setattr(CappedPaginator, "cap", 100)
    paginator = client.get("/grant/queue/").context["paginator"]
    assert (paginator.count, paginator.capped) == (6, False)
