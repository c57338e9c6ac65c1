"""The file's "put on an agenda" step (``committees:schedule``): choosing a planned
session, and planning one from the step when none is planned, then coming back."""

import pytest
from django.urls import reverse
from django.utils import timezone

from approvals.models import AgendaItem, CommitteeSession
from ledger.models import AuditEntry
from tests._committee_support import plan_session
from tests._web import as_user, html_of
from workflow.models import GrantProject

pytestmark = pytest.mark.django_db

INBOX = "/inbox/"


def schedule_url(project, back=INBOX):
    return f"{reverse('committees:schedule', args=[project.pk])}?next={back}"


def state_of(project):
    return GrantProject.objects.get(pk=project.pk).state


def test_the_officer_chooses_a_planned_session_and_goes_back_to_the_inbox(client, board, project):
    session, _items = plan_session(board, [], title="Session de mai")
    as_user(client, board.officer)
    assert "Session de mai" in html_of(client.get(schedule_url(project)))

    response = client.post(schedule_url(project), {"session": session.pk})

    assert (response.status_code, response["Location"]) == (302, INBOX)
    assert state_of(project) == "in_committee"
    assert AgendaItem.objects.filter(session=session, project=project, removed=False).exists()
    last = AuditEntry.objects.for_entity(project).order_by("seq").last()
    assert (last.transition, last.actor_id) == ("schedule", board.officer.pk)


def test_no_session_chosen_is_refused_on_the_field_and_changes_nothing(client, board, project):
    plan_session(board, [])
    as_user(client, board.officer)

    response = client.post(schedule_url(project), {})

    assert response.status_code == 200
    assert "session" in response.context["form"].errors
    assert state_of(project) == "eligible"


def test_another_role_may_not_open_the_step(client, board, project, cast):
    as_user(client, cast.agent)
    assert client.get(schedule_url(project)).status_code == 403
    assert client.post(schedule_url(project), {}).status_code == 403


def test_with_no_planned_session_the_step_links_to_planning_one_and_back(client, board, project):
    as_user(client, board.officer)
    page = html_of(client.get(schedule_url(project)))
    assert "committee is planned: plan one first" in page
    assert 'data-action="plan_session"' in page
    (action,) = response_actions(client.get(schedule_url(project)))
    assert action.url.startswith(reverse("committees:create") + "?next=")

    response = client.post(action.url, {
        "committee": board.committee.pk, "title": "Session de juin",
        "scheduled_for": (timezone.localtime() + timezone.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M"),
        "location": "Nador",
    })

    assert response.status_code == 302
    assert response["Location"] == schedule_url(project)  # the step, its own ?next= kept
    session = CommitteeSession.objects.get(title="Session de juin")
    assert session.state == "planned"
    assert "Session de juin" in html_of(client.get(response["Location"]))


def test_planning_a_session_without_a_safe_next_goes_to_its_agenda(client, board):
    as_user(client, board.officer)
    response = client.post(reverse("committees:create") + "?next=https://elsewhere.example/", {
        "committee": board.committee.pk, "title": "Session de juillet",
        "scheduled_for": (timezone.localtime() + timezone.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M"),
    })
    session = CommitteeSession.objects.get(title="Session de juillet")
    assert response["Location"] == reverse("committees:agenda", args=[session.pk])


def test_only_who_plans_sessions_is_offered_to_plan_one(client, board, project, make_user):
    from django.contrib.auth.models import Permission

    from core.roles import Role

    scheduler = make_user(Role.AUDITOR)
    scheduler.user_permissions.add(Permission.objects.get(codename="schedule_project"))
    as_user(client, scheduler)
    assert response_actions(client.get(schedule_url(project))) == []


def response_actions(response):
    assert response.status_code == 200
    return response.context["actions"]
