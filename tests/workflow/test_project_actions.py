"""The file's page offers exactly the actions its user may take now (workflow.actions):
for several (state, role) pairs, the actions available, the ones unavailable with the
reason, and none of another role's. The submission keeps its panel (warnings and
confirmation) and the edit its screen, both driven by the same list."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from core.roles import Role
from demo.scenarios import attach_required_documents
from workflow.actions import project_actions

pytestmark = pytest.mark.django_db

ITEM = re.compile(r'<li class="tamkeen-action-list__item" data-action="([^"]+)">(.*?)</li>', re.S)
HREF = re.compile(r'href="([^"]+)"')
TAGS = re.compile(r"<[^>]+>")


def offered(client, user, project):
    """{action name: its URL when available, else "unavailable: <reason>"} as the file's
    page lists them, and the page."""
    client.force_login(user)
    response = client.get(reverse("projects:detail", args=[project.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    actions = {}
    for name, body in ITEM.findall(html):
        link = HREF.search(body)
        actions[name] = link[1] if link else "unavailable: " + " ".join(TAGS.sub("", body).split())
    return actions, html


def urls(project, *names):
    return {name: reverse(f"projects:{name}", args=[project.pk]) for name in names}


@pytest.mark.parametrize("state, member, expected", [
    ("revision_requested", "agent", ["resubmit", "edit", "withdraw"]),
    ("revision_requested", "officer", ["assign_agent", "suspend", "withdraw"]),
    ("approved", "officer", ["enrol", "assign_agent", "suspend", "withdraw"]),
    ("approved", "agent", ["withdraw"]),
    ("approved", "finance", []),
    ("trained", "finance", ["open_funding"]),
    ("trained", "officer", ["assign_agent", "suspend", "withdraw"]),
    ("suspended", "officer", ["resume", "assign_agent", "withdraw"]),
    ("suspended", "agent", ["withdraw"]),
    ("withdrawn", "officer", []),
    ("withdrawn", "agent", []),
])
def test_the_page_offers_what_the_role_may_do_in_this_state(client, cast, make_project, state, member, expected):
    project = make_project(state)
    actions, _html = offered(client, getattr(cast, member), project)
    # The file's own actions (funding's, training's... are the other apps' tests).
    own = {name: url for name, url in actions.items() if url.startswith("/projects/")}
    assert own == urls(project, *expected)
    # in this order: the step forward first, the dangerous one last
    assert list(own) == expected
    if "withdraw" in actions:
        assert list(actions)[-1] == "withdraw"


@pytest.mark.parametrize("role", [Role.AUDITOR, Role.ADMIN, Role.TRAINER, Role.COMMITTEE_MEMBER])
def test_roles_that_do_not_act_on_files_see_no_action(client, make_user, make_project, role):
    project = make_project("approved")
    actions, html = offered(client, make_user(role), project)
    # At most a link to read the file's funding, for those who read money.
    assert set(actions) <= {"funding"}
    if not actions:
        assert "tamkeen-actions" not in html


def test_each_offered_action_opens_its_screen_for_its_user(client, cast, make_project):
    for state, member in [("revision_requested", "agent"), ("approved", "officer"), ("trained", "finance"),
                          ("suspended", "officer")]:
        project = make_project(state)
        user = getattr(cast, member)
        for name, url in offered(client, user, project)[0].items():
            assert client.get(url).status_code == 200, (state, member, name)


# --- The submission and the edit, on the same list -------------------------------------


def test_a_draft_with_missing_documents_says_why_it_cannot_be_submitted(client, cast, make_project):
    draft = make_project("draft")
    actions, html = offered(client, cast.agent, draft)
    assert actions["submit"].startswith("unavailable: Submit the application — Missing documents: ")
    assert "copy of the national ID card" in actions["submit"]
    assert actions["edit"] == reverse("projects:edit", args=[draft.pk])
    assert actions["withdraw"] == reverse("projects:withdraw", args=[draft.pk])
    assert "suspend" not in actions  # the program officer's
    assert 'name="confirm"' not in html and "vf-card__body tamkeen-submit" not in html


def test_a_complete_draft_shows_the_submit_panel_with_its_confirmation(client, cast, make_project):
    draft = make_project("draft", requested_amount="50000.00", own_contribution="10000.00")
    attach_required_documents(draft, cast.agent)
    actions, html = offered(client, cast.agent, draft)
    assert "submit" not in actions  # the panel carries it
    assert list(actions) == ["edit", "withdraw"]
    panel = html[html.index('class="vf-card__body tamkeen-submit"'):]
    panel = panel[:panel.index("</section>")]
    assert f'action="{reverse("projects:submit", args=[draft.pk])}"' in panel
    assert 'name="confirm"' in panel and "Submit the application" in panel
    assert "once submitted, it goes to the program officer for screening" in panel
    # what screening would refuse (own contribution below the program's minimum)
    assert "Screening will find this file ineligible" in panel


def test_the_program_officer_neither_submits_nor_edits_a_draft(client, cast, make_project):
    draft = make_project("draft")
    attach_required_documents(draft, cast.agent)
    actions, html = offered(client, cast.officer, draft)
    assert list(actions) == ["assign_agent", "suspend", "withdraw"]
    assert "Submit the application" not in html and "Edit the application" not in html


def test_a_submitted_file_is_no_longer_edited_or_submitted(client, cast, make_project):
    project = make_project("submitted")
    actions, html = offered(client, cast.agent, project)
    assert list(actions) == ["withdraw"]
    assert "vf-card__body tamkeen-submit" not in html


def test_unavailable_actions_of_other_roles_are_listed_only_on_request(cast, make_project):
    draft = make_project("draft")
    mine = {action.name for action in project_actions(draft, cast.finance)}
    assert mine == set()
    everyone = {action.name: action for action in project_actions(draft, cast.finance, other_roles=True)}
    assert {"submit", "edit", "suspend", "withdraw"} <= set(everyone)
    assert everyone["suspend"].reason == "Your role does not take this step."


def test_the_file_page_tests_no_state_name_for_its_actions():
    templates = Path(settings.BASE_DIR) / "workflow" / "templates" / "workflow"
    for name in ("project_detail.html", "includes/project_submit.html"):
        assert "project.state ==" not in (templates / name).read_text(), name
