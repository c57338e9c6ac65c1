"""The inbox: every open task I can take — assigned to me, or unassigned and asked of a
role I hold — never another person's, never one separation of duties bars me from;
filtered by kind and program, paginated, counted in the menu."""

import re
from decimal import Decimal

import pytest
from django.urls import reverse
from viewflow.workflow.models import Task

from core.roles import Role
from disbursements import services as funding
from workflow import services
from workflow.flows import GrantFlow
from workflow.inbox import claimable_permissions, inbox_tasks, task_permissions

pytestmark = pytest.mark.django_db


def seen(user):
    return sorted((task.flow_task.name, task.process.artifact_object_id) for task in inbox_tasks(user))


def test_each_person_sees_exactly_their_open_tasks(make_project, make_user, cast, people, program):
    other_agent = make_user(Role.ASSOCIATION_AGENT)
    other_officer = make_user(Role.PROGRAM_OFFICER)
    submitted = make_project("submitted")                 # screening: any program officer
    returned = make_project("submitted")
    services.project_return_docs(project_id=returned.pk, actor=cast.officer, reason="Blurred CIN.")
    in_training = make_project("in_training")            # sign-off: the officer who screened
    funded = make_project("funding", amount="50000.00")
    disbursement = funding.disbursement_request(project_id=funded.pk, actor=cast.finance, amount="1000.00")

    officer = seen(cast.officer)
    assert ("screening", submitted.pk) in officer
    assert ("training_signoff", in_training.pk) in officer
    # The other officer takes the unassigned screening, not the first officer's sign-off.
    assert ("screening", submitted.pk) in seen(other_officer)
    assert ("training_signoff", in_training.pk) not in seen(other_officer)
    # The resubmission is the agent's who submitted the file, not another agent's.
    assert seen(cast.agent) == [("resubmission", returned.pk)]
    assert seen(other_agent) == []
    # The authorization is an authorizing officer's; never the requester's.
    assert seen(people["authorizer"]) == [("authorization", disbursement.pk)]
    assert ("authorization", disbursement.pk) not in seen(cast.finance)
    # Roles with no step in these files see nothing.
    assert seen(people["treasurer"]) == [] and seen(make_user(Role.AUDITOR)) == []


def test_the_inbox_asks_only_for_the_permissions_the_tasks_carry(make_project, cast, people):
    make_project("submitted")
    make_project("in_training")
    funded = make_project("funding", amount="50000.00")
    funding.disbursement_request(project_id=funded.pk, actor=cast.finance, amount="1000.00")
    carried = set(Task.objects.exclude(owner_permission__isnull=True).exclude(owner_permission="")
                  .values_list("owner_permission", flat=True))
    asked = task_permissions()
    assert carried and carried <= asked
    # The officer's query carries the permissions that matter, not all 60-odd they hold.
    officer = claimable_permissions(cast.officer)
    assert "workflow.screen_project" in officer
    assert set(officer) <= asked < cast.officer.get_all_permissions() | asked
    assert len(officer) < len(cast.officer.get_all_permissions())
    assert "disbursements.authorize_disbursement" in claimable_permissions(people["authorizer"])


def test_an_assigned_task_is_in_its_assignees_inbox_only(make_project, cast, make_user):
    project = make_project("approved")
    enrolment = next(t for t in inbox_tasks(cast.officer) if t.flow_task is GrantFlow.enrolment)
    assert enrolment.owner == cast.officer
    # Assigned tasks are the assignee's own: another officer does not see them.
    other = make_user(Role.PROGRAM_OFFICER)
    assert enrolment not in list(inbox_tasks(other))
    assert project.pk == enrolment.process.artifact_object_id


def test_the_page_lists_links_to_each_steps_screen_and_filters_by_kind_and_program(client, make_project, cast,
                                                                                    program):
    from workflow.models import Program

    submitted = make_project("submitted")
    eligible = make_project("eligible")
    other_program = Program.objects.create(code="other", name="AGR Driouch", year=2025,
                                           envelope=Decimal("1000000.00"), project_ceiling=Decimal("100000.00"))
    elsewhere = make_project("submitted", program=other_program)
    client.force_login(cast.officer)

    html = client.get(reverse("inbox:index")).content.decode()
    rows = re.findall(r'<tr class="tamkeen-inbox-row" data-task="\d+" data-kind="([a-z_]+)">(.*?)</tr>', html, re.S)
    assert sorted(kind for kind, _row in rows) == ["agenda", "screening", "screening"]
    assert f'href="/projects/{submitted.pk}/screen/?next=%2Finbox%2F"' in html
    assert f'href="/committees/projects/{eligible.pk}/schedule/?next=%2Finbox%2F"' in html

    by_kind = client.get(reverse("inbox:index"), {"kind": "GrantFlow.agenda"}).content.decode()
    assert f"/committees/projects/{eligible.pk}/schedule/" in by_kind and "/screen/" not in by_kind
    by_program = client.get(reverse("inbox:index"), {"program": other_program.pk}).content.decode()
    assert f"/projects/{elsewhere.pk}/screen/" in by_program and f"/projects/{submitted.pk}/" not in by_program
    # A bad filter is ignored, not a 500.
    assert client.get(reverse("inbox:index"), {"kind": "nonsense", "program": "x"}).status_code == 200


def test_the_menu_counts_my_tasks_and_an_empty_inbox_says_so(client, make_project, cast):
    client.force_login(cast.agent)
    html = client.get(reverse("inbox:index")).content.decode()
    assert "Nothing waits for you" in html
    assert re.search(r'class="tamkeen-inbox-count"[^>]*>(<bdi[^>]*>)?0<', html)

    make_project("submitted")
    make_project("submitted")
    client.force_login(cast.officer)
    html = client.get(reverse("projects:index")).content.decode()  # any page: the menu counts
    assert re.search(r'class="tamkeen-inbox-count"[^>]*>(<bdi[^>]*>)?2<', html)


def test_the_inbox_pages_25_tasks_at_a_time(client, make_project, cast):
    for _ in range(26):
        make_project("submitted")
    client.force_login(cast.officer)
    first = client.get(reverse("inbox:index"))
    assert len(first.context["rows"]) == 25 and first.context["page"].has_next
    assert not first.context["page"].has_previous
    html = first.content.decode()
    assert "Page 1 of" not in html  # no count of the whole queue: "more", not a total
    (more,) = re.findall(r'class="mdc-button tamkeen-pager-next" rel="next" href="\?([^"]+)"', html)
    second = client.get(reverse("inbox:index") + "?" + more.replace("&amp;", "&"))
    assert len(second.context["rows"]) == 1 and not second.context["page"].has_next
    seen_rows = [task.pk for task in first.context["rows"]] + [task.pk for task in second.context["rows"]]
    assert len(set(seen_rows)) == 26
    (back,) = re.findall(r'rel="prev" href="\?([^"]+)"', second.content.decode())
    again = client.get(reverse("inbox:index") + "?" + back.replace("&amp;", "&"))
    assert [task.pk for task in again.context["rows"]] == seen_rows[:25]


def test_the_pages_keep_the_filters_and_go_from_my_tasks_to_my_roles(client, make_project, cast, program):
    """Assigned to me first (the sign-offs of files I screened), then the screenings any
    officer may claim; the pager's links keep the program filter."""
    from core.pagination import keyset_page
    from workflow.inbox import KEYS, inbox_segments

    for _ in range(3):
        make_project("in_training")
    for _ in range(3):
        make_project("submitted")
    mine, claimable = inbox_segments(cast.officer)
    assert mine.count() == 3 and claimable.count() >= 3
    walked = []
    params = {"program": str(program.pk)}
    while True:
        page = keyset_page(inbox_segments(cast.officer, program_id=program.pk), params, keys=KEYS, size=2)
        walked += page.rows
        if not page.has_next:
            break
        assert f"program={program.pk}" in page.next_query
        params = {"program": str(program.pk), "after": page.next_cursor}
    assert [task.pk for task in walked] == [task.pk for task in inbox_tasks(cast.officer, program_id=program.pk)]
    assert [task.owner_id for task in walked[:3]] == [cast.officer.pk] * 3


def test_a_link_with_a_broken_cursor_shows_the_first_page_and_says_so(client, make_project, cast):
    make_project("submitted")
    client.force_login(cast.officer)
    for cursor in ("not-base64!", "WzksWzFdXQ", "W10", "WzAsWyJub3QgYSBkYXRlIiwxXV0"):
        response = client.get(reverse("inbox:index"), {"after": cursor, "kind": ""})
        assert response.status_code == 200
        assert len(response.context["rows"]) == 1
        assert response.context["page"].error_code == "invalid_cursor"
        assert 'data-code="invalid_cursor"' in response.content.decode()


def test_the_badge_stops_counting_past_its_cap(client, make_project, cast, monkeypatch):
    from workflow import inbox

    monkeypatch.setattr(inbox, "COUNT_CAP", 2)
    monkeypatch.setattr("workflow.templatetags.inbox_tags.COUNT_CAP", 2)
    for _ in range(4):
        make_project("submitted")
    client.force_login(cast.officer)
    html = client.get(reverse("inbox:index")).content.decode()
    assert re.search(r'class="tamkeen-inbox-count"[^>]*>(<bdi[^>]*>)?2\+<', html)
    assert "More than 2 tasks" in html


def test_the_count_is_capped(make_project, cast):
    from workflow.inbox import inbox_count

    for _ in range(4):
        make_project("submitted")
    assert inbox_count(cast.officer) == 4
    assert inbox_count(cast.officer, cap=2) == 3  # "2+": it stopped reading after three


def test_the_count_takes_every_permission_and_the_tasks_assigned(make_project, cast):
    # The claimable tasks are counted permission by permission (each in its index's
    # order): the count is still every task the inbox lists, capped across them.
    from workflow.inbox import inbox_count, inbox_tasks

    for state in ("submitted", "submitted", "eligible", "eligible", "in_committee"):
        make_project(state)
    tasks = list(inbox_tasks(cast.officer))
    assert len({task.owner_permission for task in tasks if task.owner_id is None}) >= 2
    assert inbox_count(cast.officer) == len(tasks) >= 4
    assert inbox_count(cast.officer, cap=2) == 3
    assert inbox_count(cast.officer, cap=len(tasks) - 1) == len(tasks)


def test_an_anonymous_visitor_is_sent_to_log_in(client):
    response = client.get(reverse("inbox:index"))
    assert response.status_code == 302 and reverse("login") in response["Location"]


@pytest.mark.parametrize(("days", "state", "shown"), [
    (0, "on_time", "on time"), (6, "reminded", "reminded"), (11, "escalated", "escalated"),
])
def test_each_row_says_whether_its_step_is_on_time_reminded_or_escalated(client, make_project, cast, days, state,
                                                                         shown):
    from datetime import timedelta

    from django.utils import timezone
    from viewflow.workflow.models import Task

    make_project("submitted")  # screening: reminded after 5 days, escalated after 10
    Task.objects.filter(flow_task=GrantFlow.screening).update(created=timezone.now() - timedelta(days=days))
    client.force_login(cast.officer)
    response = client.get(reverse("inbox:index"))
    (row,) = response.context["rows"]
    assert row.deadline_state == state
    assert f'tamkeen-deadline--{state}">' in response.content.decode()
    assert shown in response.content.decode()
