"""viewflow's own URL of a step's task (its process page links to it) sends the user
to the step's screen."""

import pytest
from django.urls import reverse

from workflow.flows import GrantFlow, process_for

pytestmark = pytest.mark.django_db


def test_a_steps_viewflow_url_opens_its_screen(client, make_project, cast):
    project = make_project("submitted")
    task = process_for(project).task_set.get(flow_task=GrantFlow.screening)
    client.force_login(cast.officer)
    response = client.get(reverse("grant:screening:index", args=[task.process_id, task.pk]))
    assert response.status_code == 302
    assert response["Location"] == reverse("projects:screen", args=[project.pk])
    # The file's page lists its open step with that link.
    html = client.get(reverse("projects:detail", args=[project.pk])).content.decode()
    assert reverse("grant:screening:index", args=[task.process_id, task.pk]) in html


def test_a_done_steps_url_shows_its_history(client, make_project, cast):
    from workflow import services

    project = make_project("submitted")
    task = process_for(project).task_set.get(flow_task=GrantFlow.screening)
    services.project_screen(project_id=project.pk, actor=cast.officer)
    client.force_login(cast.officer)
    response = client.get(reverse("grant:screening:index", args=[task.process_id, task.pk]))
    assert response.status_code == 302
    assert response["Location"] == reverse("grant:screening:detail", args=[task.process_id, task.pk])
