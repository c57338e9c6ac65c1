"""Object-level rights (core.scopes), as a table: for each limited role, its own object,
another's object, and each action — through the services, and for the two findings of
the access review (a mentor uploading to a file they do not follow, an agent editing
another agent's draft) through the pages, which answer 403 and save nothing."""

from datetime import time, timedelta

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from approvals.models import CommitteeSession
from core import scopes
from core.exceptions import TamkeenError
from core.roles import Role
from demo.scenarios import STABLE_VISIT, attach_required_documents, plan_session
from followup import services as followup_services
from followup.models import FollowUpVisit
from ledger.models import AuditEntry
from tests._web import as_user
from training import services as training_services
from workflow import services
from workflow.models import Document, GrantProject

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def pdf(name="cin.pdf"):
    return SimpleUploadedFile(name, PDF + name.encode(), content_type="application/pdf")


def outcome(call) -> str:
    try:
        call()
    except TamkeenError as error:
        return error.code
    return "ok"


def snapshot():
    return (AuditEntry.objects.count(), Document.objects.count(),
            list(GrantProject.objects.order_by("pk").values_list("pk", "state", "title", "assigned_agent_id")))


# --- association agents: the files in their charge ---------------------------------------


AGENT_ACTIONS = {
    "edit": lambda project, actor: services.project_update(project_id=project.pk, actor=actor, title="Atelier neuf"),
    "upload": lambda project, actor: services.document_attach(project_id=project.pk, actor=actor,
                                                              doc_type="cin_copy", uploaded_file=pdf()),
    "submit": lambda project, actor: services.project_submit(project_id=project.pk, actor=actor),
    "withdraw": lambda project, actor: services.project_withdraw(project_id=project.pk, actor=actor,
                                                                 reason="Elle renonce."),
}


@pytest.mark.parametrize("action", sorted(AGENT_ACTIONS))
@pytest.mark.parametrize("whose, expected", [("own", "ok"), ("another agent's", "not_your_file"),
                                             ("reassigned to me", "ok"), ("reassigned away", "not_your_file")])
def test_agents_act_on_the_files_in_their_charge(make_project, make_user, cast, action, whose, expected):
    other = make_user(Role.ASSOCIATION_AGENT, username="agent-2")
    project = make_project("draft")
    attach_required_documents(project, cast.agent)  # so that its submission may go on
    actor = {"own": cast.agent, "another agent's": other, "reassigned to me": other,
             "reassigned away": cast.agent}[whose]
    if whose.startswith("reassigned"):
        services.project_assign_agent(project_id=project.pk, actor=cast.officer, agent_id=other.pk,
                                      reason="Congé de l'agente.")
    before = snapshot()
    assert outcome(lambda: AGENT_ACTIONS[action](project, actor)) == expected
    if expected != "ok":
        assert snapshot() == before


# --- mentors: the files they follow ---------------------------------------------------------


@pytest.fixture
def followed(make_project):
    return make_project("launched")  # launched by cast.mentor, who follows it


MENTOR_ACTIONS = {
    "upload": lambda project, actor: services.document_attach(project_id=project.pk, actor=actor,
                                                              doc_type="other", uploaded_file=pdf("photo.pdf")),
    "report a visit": lambda project, actor: followup_services.visit_report(
        visit_id=FollowUpVisit.objects.filter(project=project).order_by("sequence").first().pk, actor=actor,
        **{**STABLE_VISIT, "visited_on": timezone.localdate()}),
}


@pytest.mark.parametrize("action", sorted(MENTOR_ACTIONS))
@pytest.mark.parametrize("whose, expected", [("followed", "ok"), ("another's", {"not_your_file", "not_assigned_mentor"})])
def test_mentors_act_on_the_files_they_follow(followed, make_user, cast, action, whose, expected):
    actor = cast.mentor if whose == "followed" else make_user(Role.MENTOR, username="mentor-2")
    before = snapshot()
    result = outcome(lambda: MENTOR_ACTIONS[action](followed, actor))
    if expected == "ok":
        assert result == "ok"
    else:
        assert result in expected
        assert snapshot() == before


# --- the roles that act program-wide ---------------------------------------------------------


@pytest.mark.parametrize("role", [Role.PROGRAM_OFFICER])
def test_a_program_officer_acts_on_every_file(make_project, make_user, role):
    officer = make_user(role, username="officer-2")
    project = make_project("draft")
    assert outcome(lambda: AGENT_ACTIONS["upload"](project, officer)) == "ok"


def test_someone_holding_a_wide_role_too_acts_program_wide(make_project, make_user):
    both = make_user(Role.ASSOCIATION_AGENT, Role.PROGRAM_OFFICER, username="both")
    project = make_project("draft")
    assert scopes.allows(both, project, "workflow.add_document")
    # The edit is the agent's alone: as an agent, the file is not theirs.
    assert not scopes.allows(both, project, "workflow.change_grantproject")


# --- trainers: their sessions; members: their committee's sessions -----------------------------


def test_trainers_record_the_attendance_of_their_own_sessions(make_project, make_user, cast, program):
    mine, theirs = make_user(Role.TRAINER, username="trainer-1"), make_user(Role.TRAINER, username="trainer-2")
    training_services.program_module_set(actor=cast.officer, program_id=program.pk, module="marketing",
                                         planned_hours="10")
    session = training_services.training_session_create(
        actor=cast.officer, program_id=program.pk, module="marketing", trainer=mine,
        date=timezone.localdate() - timedelta(days=1), start_time=time(9, 30), hours="3", place="Nador")
    enrolled = make_project("in_training")
    assert scopes.allows(mine, session, "training.add_attendancerecord")
    assert not scopes.allows(theirs, session, "training.add_attendancerecord")
    before = snapshot()
    assert outcome(lambda: training_services.training_record_attendance(
        session_id=session.pk, actor=theirs, attendance={enrolled.pk: True})) in {"permission_denied",
                                                                                   "not_your_session"}
    assert snapshot() == before
    assert outcome(lambda: training_services.training_record_attendance(
        session_id=session.pk, actor=mine, attendance={enrolled.pk: True})) == "ok"


def test_members_act_on_their_own_committees_sessions(make_project, make_user, cast, program):
    project = make_project("eligible")
    plan_session(program, cast, [project.pk])
    session = CommitteeSession.objects.get(items__project=project)
    outsider = make_user(Role.COMMITTEE_MEMBER, username="member-elsewhere")
    officer = make_user(Role.PROGRAM_OFFICER, username="officer-3")
    assert scopes.allows(cast.chair, session, "approvals.vote_session")
    assert not scopes.allows(outsider, session, "approvals.vote_session")
    assert scopes.allows(officer, session, "approvals.manage_session")  # program-wide
    # The chair of another committee cannot open this one's session.
    other_chair = make_user(Role.COMMITTEE_CHAIR, Role.COMMITTEE_MEMBER, username="chair-elsewhere")
    from approvals import services as committee

    before = snapshot()
    assert outcome(lambda: committee.session_open(session_id=session.pk, actor=other_chair)) in {
        "not_on_committee", "not_a_member"}
    assert snapshot() == before


# --- the findings, through the pages -------------------------------------------------------------


def test_a_mentor_cannot_upload_to_a_file_they_do_not_follow(client, make_project, make_user):
    """Finding 3: a mentor who follows no project attached two "CIN copy" documents to another."""
    project = make_project("launched")
    stranger = make_user(Role.MENTOR, username="mentor-stranger")
    as_user(client, stranger)
    url = reverse("projects:upload", args=[project.pk])
    assert client.get(url).status_code == 403
    response = client.post(url, {"doc_type": "cin_copy", "file": pdf()})
    assert response.status_code == 403
    assert not Document.objects.filter(project=project, uploaded_by=stranger).exists()
    page = client.get(reverse("projects:detail", args=[project.pk])).content.decode()
    assert url not in page  # the file's page offers no upload either


def test_an_agent_cannot_edit_or_upload_to_another_agents_draft(client, make_project, make_user):
    """Finding 3: an association agent edited and uploaded to another agent's draft."""
    draft = make_project("draft")
    other = make_user(Role.ASSOCIATION_AGENT, username="agent-other")
    as_user(client, other)
    before = snapshot()
    for url, data in ((reverse("projects:edit", args=[draft.pk]), {"title": "Repris"}),
                      (reverse("projects:upload", args=[draft.pk]), {"doc_type": "cin_copy", "file": pdf()})):
        assert client.get(url).status_code == 403
        assert client.post(url, data).status_code == 403
    assert snapshot() == before
    page = client.get(reverse("projects:detail", args=[draft.pk])).content.decode()
    assert reverse("projects:edit", args=[draft.pk]) not in page
    assert reverse("projects:submit", args=[draft.pk]) not in page


def test_a_program_officer_gives_a_file_to_another_agent_with_its_open_steps(client, make_project, make_user,
                                                                            cast):
    other = make_user(Role.ASSOCIATION_AGENT, username="agent-new")
    project = make_project("draft")
    as_user(client, cast.officer)
    url = reverse("projects:assign_agent", args=[project.pk])
    assert url in client.get(reverse("projects:detail", args=[project.pk])).content.decode()
    response = client.post(url, {"agent": other.pk, "reason": "Congé de maternité."})
    assert response.status_code == 302
    project = GrantProject.objects.get(pk=project.pk)
    assert project.assigned_agent_id == other.pk
    entry = AuditEntry.objects.for_entity(project).order_by("seq").last()
    assert entry.transition == "assign_agent"
    assert entry.payload == {"agent": other.pk, "previous": cast.agent.pk, "reason": "Congé de maternité."}
    # Not an agent, or the same agent: a field error, nothing changed.
    before = snapshot()
    page = client.post(url, {"agent": cast.officer.pk, "reason": "x"}).content.decode()
    assert "Select a valid choice" in page or "association agent role" in page
    assert snapshot() == before
    # Agents cannot reassign.
    as_user(client, User.objects.get(pk=other.pk))
    assert client.get(url).status_code == 403

