"""The program officer's "put on an agenda" step of one eligible file
(``committees:schedule``): choose a planned session of the program's committee."""

import pytest
from django.urls import reverse

from workflow.flows import open_steps
from workflow.models import GrantProject

pytestmark = pytest.mark.django_db


def test_without_a_planned_session_the_screen_says_what_to_do_first(client, make_project, cast):
    project = make_project("eligible")
    client.force_login(cast.officer)
    response = client.get(reverse("committees:schedule", args=[project.pk]))
    assert response.status_code == 200
    assert "No session of this program&#x27;s committee is planned" in response.content.decode()


def test_the_officer_puts_the_file_on_a_session_and_its_step_is_done(client, make_project, cast):
    from demo.scenarios import plan_session

    project = make_project("eligible")
    session = plan_session(project.program, cast, title="Session de juin")
    client.force_login(cast.officer)
    url = reverse("committees:schedule", args=[project.pk]) + "?next=/inbox/"

    refused = client.post(url, {"session": "999999"})
    assert refused.status_code == 200 and refused.context["form"].errors["session"]
    assert GrantProject.objects.get(pk=project.pk).state == "eligible"

    response = client.post(url, {"session": session.pk})
    assert response.status_code == 302 and response["Location"] == "/inbox/"
    project = GrantProject.objects.get(pk=project.pk)
    assert project.state == "in_committee"
    assert open_steps(project) == ("committee_decision",)


def test_another_role_cannot_schedule(client, make_project, cast):
    project = make_project("eligible")
    client.force_login(cast.agent)
    assert client.get(reverse("committees:schedule", args=[project.pk])).status_code == 403
