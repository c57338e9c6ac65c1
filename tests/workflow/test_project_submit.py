"""The association agent's "Submit the application" action on the project page."""

import pytest
from django.urls import reverse

from demo.scenarios import attach_required_documents
from ledger.models import AuditEntry
from workflow.flows import process_for
from workflow.models import GrantProject

pytestmark = pytest.mark.django_db


@pytest.fixture
def draft(make_project):
    return make_project("draft")


def submit(client, project, **data):
    return client.post(reverse("projects:submit", args=[project.pk]), data, follow=True)


def state_and_audit(project):
    return GrantProject.objects.get(pk=project.pk).state, AuditEntry.objects.for_entity(project).count()


def test_agent_submits_a_complete_draft_from_its_page(client, cast, draft, django_capture_on_commit_callbacks):
    attach_required_documents(draft, cast.agent)
    client.force_login(cast.agent)
    page = client.get(reverse("projects:detail", args=[draft.pk])).content.decode()
    assert "Submit the application" in page and 'name="confirm"' in page

    with django_capture_on_commit_callbacks(execute=True):
        response = submit(client, draft, confirm="on")

    assert GrantProject.objects.get(pk=draft.pk).state == "submitted"
    assert process_for(draft) is not None
    html = response.content.decode()
    assert f"Application {draft.reference} submitted for screening." in html
    assert "Submit the application" not in html


def test_without_the_confirmation_nothing_is_submitted(client, cast, draft):
    attach_required_documents(draft, cast.agent)
    before = state_and_audit(draft)
    client.force_login(cast.agent)
    response = submit(client, draft)
    assert "Tick the confirmation box to submit the application." in response.content.decode()
    assert state_and_audit(draft) == before == ("draft", before[1])


def test_missing_documents_are_said_and_nothing_changes(client, cast, draft):
    before = state_and_audit(draft)
    client.force_login(cast.agent)
    response = submit(client, draft, confirm="on")
    assert response.status_code == 200
    assert state_and_audit(draft) == before
    html = response.content.decode()
    assert "submitted for screening" not in html
    assert "Missing documents" in html or "required documents are missing" in html, html


def test_only_agents_submit(client, cast, draft):
    attach_required_documents(draft, cast.agent)
    before = state_and_audit(draft)
    client.force_login(cast.officer)
    assert "Submit the application" not in client.get(reverse("projects:detail", args=[draft.pk])).content.decode()
    assert client.post(reverse("projects:submit", args=[draft.pk]), {"confirm": "on"}).status_code == 403
    assert client.get(reverse("projects:submit", args=[draft.pk])).status_code in (403, 405)
    assert state_and_audit(draft) == before
