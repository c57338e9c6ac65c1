"""The file's own action screens (workflow/views/actions.py): resubmit, enrol, open
funding, withdraw, suspend, resume. Each: the owning role gets the form, another role a
403; a valid POST calls the service (state and signed audit entry); a coded error lands
on the form's field with status 200 and nothing changed; an irreversible action refuses
without its confirmation tick."""

from dataclasses import dataclass, field

import pytest
from django.urls import reverse

from ledger.models import AuditEntry
from workflow.models import GrantProject, Program

pytestmark = pytest.mark.django_db

REASON = "La bénéficiaire a déménagé à Oujda."


@dataclass(frozen=True)
class Case:
    url_name: str  # also the transition's name
    state: str
    owner: str  # a member of the cast
    other: str
    target: str
    data: dict = field(default_factory=dict)
    confirm: bool = False
    payload: dict = field(default_factory=dict)


CASES = {
    "resubmit": Case("resubmit", "revision_requested", "agent", "officer", "submitted", confirm=True),
    "enrol": Case("enrol", "approved", "officer", "finance", "in_training", confirm=True),
    "open_funding": Case("open_funding", "trained", "finance", "officer", "funding", confirm=True),
    "withdraw": Case("withdraw", "approved", "agent", "finance", "withdrawn", {"reason": REASON}, confirm=True,
                     payload={"reason": REASON}),
    "suspend": Case("suspend", "approved", "officer", "agent", "suspended", {"reason": REASON},
                    payload={"reason": REASON}),
    "resume": Case("resume", "suspended", "officer", "agent", "draft", {"note": "Pièces vérifiées."},
                   payload={"note": "Pièces vérifiées."}),
}


def url(name, project):
    return reverse(f"projects:{name}", args=[project.pk])


def snapshot(project):
    """What a refused action must leave as it was: the row and its audit chain."""
    return (GrantProject.objects.filter(pk=project.pk).values().get(),
            AuditEntry.objects.for_entity(project).count())


def last_entry(project):
    return AuditEntry.objects.for_entity(project).order_by("-seq").first()


def posted(case):
    return {**case.data, **({"confirm": "on"} if case.confirm else {})}


@pytest.fixture(params=sorted(CASES))
def case(request):
    return CASES[request.param]


@pytest.fixture
def on_file(case, make_project):
    return make_project(case.state)


def test_the_owning_role_gets_the_form(client, cast, case, on_file):
    client.force_login(getattr(cast, case.owner))
    response = client.get(url(case.url_name, on_file))
    assert response.status_code == 200
    html = response.content.decode()
    assert on_file.reference in html
    assert ('name="confirm"' in html) == case.confirm
    for name in case.data:
        assert f'name="{name}"' in html
    assert response.context["unavailable_reason"] == ""


def test_another_role_is_refused(client, cast, case, on_file):
    before = snapshot(on_file)
    client.force_login(getattr(cast, case.other))
    assert client.get(url(case.url_name, on_file)).status_code == 403
    assert client.post(url(case.url_name, on_file), posted(case)).status_code == 403
    assert snapshot(on_file) == before


def test_a_valid_post_takes_the_transition(client, cast, case, on_file, committed):
    actor = getattr(cast, case.owner)
    client.force_login(actor)
    with committed():
        response = client.post(url(case.url_name, on_file), posted(case))
    assert response.status_code == 302
    assert response["Location"] == reverse("projects:detail", args=[on_file.pk])
    assert GrantProject.objects.get(pk=on_file.pk).state == case.target
    entry = last_entry(on_file)
    assert (entry.transition, entry.actor_id, entry.to_state) == (case.url_name, actor.pk, case.target)
    for key, value in case.payload.items():
        assert entry.payload[key] == value
    page = client.get(response["Location"]).content.decode()
    assert on_file.reference in page and "tamkeen-message--success" in page


@pytest.mark.parametrize("name", [name for name, case in CASES.items() if case.confirm])
def test_irreversible_actions_refuse_without_the_tick(client, cast, make_project, name):
    case = CASES[name]
    project = make_project(case.state)
    before = snapshot(project)
    client.force_login(getattr(cast, case.owner))
    response = client.post(url(name, project), case.data)
    assert response.status_code == 200
    assert response.context["form"].errors["confirm"] == ["Tick the box to confirm: this cannot be undone."]
    assert snapshot(project) == before


def test_an_unknown_file_is_not_found(client, cast):
    client.force_login(cast.officer)
    assert client.get(reverse("projects:suspend", args=[999999])).status_code == 404


# --- Coded errors on the form's fields ------------------------------------------------


@pytest.mark.parametrize("name", ["withdraw", "suspend"])
def test_a_missing_reason_is_said_on_its_field(client, cast, make_project, name):
    case = CASES[name]
    project = make_project(case.state)
    before = snapshot(project)
    client.force_login(getattr(cast, case.owner))
    response = client.post(url(name, project), {**posted(case), "reason": "   "})
    assert response.status_code == 200
    form = response.context["form"]
    assert form.errors == {"reason": ["This field is required."]}
    assert 'tamkeen-field--error' in response.content.decode()
    assert snapshot(project) == before


@pytest.mark.parametrize("name, state", [
    ("enrol", "in_training"), ("open_funding", "approved"), ("resume", "approved"), ("resubmit", "draft"),
    ("suspend", "suspended"), ("withdraw", "withdrawn"),
])
def test_the_wrong_state_is_refused_with_the_services_code(client, cast, make_project, name, state):
    case = CASES[name]
    project = make_project(state)
    before = snapshot(project)
    client.force_login(getattr(cast, case.owner))
    page = client.get(url(name, project))
    assert page.context["unavailable_reason"].startswith("Not possible while the file is")
    response = client.post(url(name, project), posted(case))
    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == [
        "This action is not possible in the file's current state."]
    assert snapshot(project) == before


def test_resubmission_lists_the_documents_still_missing(client, cast, make_project):
    project = make_project("revision_requested")
    Program.objects.filter(pk=project.program_id).update(
        required_documents=[*project.program.required_documents, "social_situation"])
    before = snapshot(project)
    client.force_login(cast.agent)
    page = client.get(url("resubmit", project))
    assert page.context["unavailable_reason"] == "Missing documents: proof of social situation."
    response = client.post(url("resubmit", project), {"confirm": "on"})
    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == ["Missing documents: proof of social situation."]
    assert snapshot(project) == before


def test_the_officer_who_withdraws_signs_in_her_role(client, cast, make_project):
    project = make_project("in_training")
    client.force_login(cast.officer)
    response = client.post(url("withdraw", project), {"reason": REASON, "confirm": "on"})
    assert response.status_code == 302
    entry = last_entry(project)
    assert (entry.transition, entry.actor_role, entry.from_state) == ("withdraw", "program_officer", "in_training")


# --- What each page says ----------------------------------------------------------------


def test_resubmission_recalls_the_committees_reason(client, cast, make_project):
    project = make_project("revision_requested")
    client.force_login(cast.agent)
    html = client.get(url("resubmit", project)).content.decode()
    assert "Clarify the equipment list." in html  # the reason the session confirmed
    assert "once resubmitted, it goes back to screening" in html


def test_resume_says_where_the_file_returns(client, cast, make_project):
    project = make_project("suspended")  # suspended from a draft
    client.force_login(cast.officer)
    html = client.get(url("resume", project)).content.decode()
    assert "The file returns to “draft”, where it was when suspended." in html


def test_withdrawal_is_shown_as_dangerous(client, cast, make_project):
    project = make_project("draft")
    client.force_login(cast.agent)
    html = client.get(url("withdraw", project)).content.decode()
    assert "tamkeen-button--danger" in html and "this cannot be undone" in html
    client.force_login(cast.officer)
    assert "tamkeen-button--danger" not in client.get(url("suspend", project)).content.decode()
