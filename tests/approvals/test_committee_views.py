"""The committee screens (issue 4, item 7) through the Django test client: access to
them, the officer's agenda builder and the member's session page. The chair's console,
the archive and the minutes: ``test_committee_chair_views.py``. States are reached
through the approvals services (tests/_committee_support); every refused or invalid
post is checked to change nothing."""

import re
from decimal import Decimal

import pytest
from django.urls import reverse

from approvals import services as committee
from approvals.models import AgendaItem, Attendance, CommitteeSession, InterestDeclaration, Vote
from core.roles import Role
from tests._committee_screens import declaration_data, item_card, url, vote_data
from tests._committee_support import (
    FULL_SCORES,
    declare_and_vote,
    fresh_item,
    fresh_project,
    fresh_session,
    open_session,
    plan_session,
    snapshot,
)
from tests._web import as_user, html_of
from workflow.models import Program

pytestmark = pytest.mark.django_db


# --- Login wall and access ----------------------------------------------------------------


@pytest.mark.parametrize("path", [
    "/committees/", "/committees/new/", "/committees/1/", "/committees/1/agenda/", "/committees/1/member/",
    "/committees/1/console/", "/committees/1/minutes.pdf", "/committees/1/minutes/confirm/",
])
def test_anonymous_user_is_redirected_to_login(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert f"next={path}" in response["Location"]


def test_member_of_another_committee_cannot_see_the_session(client, board, project, cast, make_project,
                                                           make_user):
    session, (item,) = open_session(board, [project])
    other_program = Program.objects.create(
        code="driouch-2025", name="AGR Driouch", year=2025,
        envelope=Decimal("500000.00"), project_ceiling=Decimal("80000.00"),
    )
    outsider = make_user(Role.COMMITTEE_MEMBER)
    committee.committee_create(actor=cast.officer, program=other_program, name="Comité Driouch",
                               members=[(make_user(Role.COMMITTEE_CHAIR, Role.COMMITTEE_MEMBER), "chair"),
                                        (outsider, "member")])
    as_user(client, outsider)
    for name in ("detail", "member", "console", "agenda", "minutes", "confirmations"):
        assert client.get(url(name, session.pk)).status_code == 404, name
    before = snapshot(session)
    response = client.post(url("vote", session.pk, item.pk), vote_data(item))
    assert response.status_code == 404
    assert snapshot(session) == before
    # ... and the archive does not list it.
    assert session.title not in html_of(client.get(url("index")))
    # A member of the session's committee does see it (the 404 above is not a broken page).
    as_user(client, board.members[0])
    assert client.get(url("detail", session.pk)).status_code == 200


def test_each_role_is_kept_to_its_own_pages(client, board, project, make_user):
    session, _items = plan_session(board, [project])
    member = board.members[0]
    as_user(client, member)
    assert client.get(url("agenda", session.pk)).status_code == 403
    assert client.get(url("console", session.pk)).status_code == 403
    assert client.get(url("open", session.pk)).status_code == 403
    assert client.get(url("create")).status_code == 403
    as_user(client, board.officer)
    assert client.get(url("member", session.pk)).status_code == 403
    assert client.post(url("open", session.pk)).status_code == 403
    assert fresh_session(session).state == "planned"
    # Auditors read every session and its console, and change nothing.
    auditor = make_user(Role.AUDITOR)
    as_user(client, auditor)
    assert client.get(url("detail", session.pk)).status_code == 200
    console = html_of(client.get(url("console", session.pk)))
    assert "Open the session" not in console
    assert client.get(url("member", session.pk)).status_code == 403


# --- The program officer's agenda builder ---------------------------------------------------


def test_officer_plans_a_session_and_builds_its_agenda(client, board, make_project):
    wanted = make_project("eligible", title="Élevage de poulets")
    other = make_project("eligible", title="Atelier de couture")
    not_eligible = make_project("submitted", title="Boulangerie")
    as_user(client, board.officer)

    assert "Plan the session" in html_of(client.get(url("create")))
    response = client.post(url("create"), {
        "committee": board.committee.pk, "title": "Session d'avril", "scheduled_for": "2025-04-15T09:30",
        "location": "Salle du conseil",
    })
    session = CommitteeSession.objects.get(title="Session d'avril")
    assert response.status_code == 302 and response["Location"] == url("agenda", session.pk)
    assert (session.state, session.location, session.created_by) == ("planned", "Salle du conseil", board.officer)

    page = html_of(client.get(url("agenda", session.pk)))
    assert "The agenda is empty" in page
    assert wanted.reference in page and other.reference in page
    assert not_eligible.reference not in page
    searched = html_of(client.get(url("agenda", session.pk), {"q": "poulets"}))
    assert wanted.reference in searched and other.reference not in searched

    response = client.post(url("agenda_add", session.pk), {"project": wanted.pk})
    assert response.status_code == 302
    item = AgendaItem.objects.get(session=session, project=wanted)
    assert fresh_project(wanted).state == "in_committee"
    page = html_of(client.get(url("agenda", session.pk)))
    assert url("agenda_remove", session.pk, item.pk) in page

    # A file that is not eligible is refused with its message; nothing changes.
    before = snapshot(session)
    page = html_of(client.post(url("agenda_add", session.pk), {"project": not_eligible.pk}))
    assert "Only an eligible file can be put on the agenda." in page
    assert snapshot(session) == before
    assert fresh_project(not_eligible).state == "submitted"


def test_officer_removes_a_file_with_a_reason_after_a_confirmation_step(client, board, project):
    session, (item,) = plan_session(board, [project])
    as_user(client, board.officer)
    confirm = html_of(client.get(url("agenda_remove", session.pk, item.pk)))
    assert project.reference in confirm and "becomes eligible again" in confirm

    before = snapshot(session)
    page = html_of(client.post(url("agenda_remove", session.pk, item.pk), {"reason": "  "}))
    assert re.search(r'tamkeen-field--error">\s*<label for="id_reason"', page)
    assert "This field is required." in page
    assert snapshot(session) == before

    response = client.post(url("agenda_remove", session.pk, item.pk), {"reason": "Pièces à vérifier."})
    assert response.status_code == 302
    assert fresh_item(item).removed is True
    assert fresh_project(project).state == "eligible"
    assert "The agenda is empty" in html_of(client.get(url("agenda", session.pk)))


def test_officer_records_attendance(client, board, project):
    session, _items = plan_session(board, [project])
    chair, a, b, c, d = board.everyone
    as_user(client, board.officer)
    page = html_of(client.get(url("agenda", session.pk)))
    assert "Not recorded yet" in page
    response = client.post(url("attendance", session.pk), {"present": [chair.pk, a.pk, b.pk]})
    assert response.status_code == 302
    present = set(Attendance.objects.filter(session=session, present=True).values_list("user_id", flat=True))
    absent = set(Attendance.objects.filter(session=session, present=False).values_list("user_id", flat=True))
    assert (present, absent) == ({chair.pk, a.pk, b.pk}, {c.pk, d.pk})
    # The form shows what was recorded.
    page = html_of(client.get(url("agenda", session.pk)))
    assert re.search(rf'value="{a.pk}"[^>]*checked', page)
    assert not re.search(rf'value="{c.pk}"[^>]*checked', page)


# --- The member's session page ---------------------------------------------------------------


def test_member_sees_the_file_summary_without_cin_or_disability_details(client, board, make_project,
                                                                        make_beneficiary):
    beneficiary = make_beneficiary(has_disability=True, disability_proof="card", is_woman_in_difficulty=True)
    project = make_project("eligible", beneficiary=beneficiary, title="Épicerie solidaire")
    session, (item,) = open_session(board, [project])
    as_user(client, board.members[0])
    card = item_card(html_of(client.get(url("member", session.pk))), item)

    assert "Épicerie solidaire" in card and project.sector.name in card
    assert str(beneficiary.commune) in card
    assert "woman in a difficult situation" in card and "person with a disability" in card
    assert '60,000.00</bdi>\u00a0MAD' in card and '30,000.00</bdi>\u00a0MAD' in card  # requested, own contribution
    assert "Deux machines à coudre" in card
    assert "residence certificate" in card and "business plan" in card
    assert "2 identity or disability documents (restricted)" in card
    page = html_of(client.get(url("member", session.pk)))
    for secret in (beneficiary.cin, beneficiary.last_name, beneficiary.last_name_ar, "national disability card",
                   "disability card", "copy of the national ID card", beneficiary.phone):
        assert secret not in page, secret
    # The officer's project page does show the CIN: the member page leaves it out on purpose.
    as_user(client, board.officer)
    assert beneficiary.cin in html_of(client.get(reverse("projects:detail", args=[project.pk])))


def test_member_declares_no_conflict_then_votes_without_seeing_other_votes(client, board, project):
    session, (item,) = open_session(board, [project])
    member, other = board.members[0], board.members[1]
    declare_and_vote(item, other, "reject", comment="AVIS-PRIVE-DU-VOISIN")
    as_user(client, member)

    card = item_card(html_of(client.get(url("member", session.pk))), item)
    assert "tamkeen-declaration-form" in card and "tamkeen-vote-form" not in card

    response = client.post(url("declare", session.pk, item.pk), declaration_data(item))
    assert response.status_code == 302
    assert InterestDeclaration.objects.get(item=item, user=member).has_conflict is False
    card = item_card(html_of(client.get(url("member", session.pk))), item)
    assert "tamkeen-vote-form" in card
    assert "AVIS-PRIVE-DU-VOISIN" not in card and "Request revision" not in card

    response = client.post(url("vote", session.pk, item.pk),
                           vote_data(item, "revise", scores={"viability": 2, "impact": 3, "capacity": 4,
                                                             "market": 5}, comment="Préciser le devis."))
    assert response.status_code == 302
    vote = Vote.objects.get(item=item, user=member)
    assert (vote.choice, vote.scores, vote.comment) == (
        "revise", {"viability": 2, "impact": 3, "capacity": 4, "market": 5}, "Préciser le devis.")
    page = html_of(client.get(url("member", session.pk)))
    assert "Your vote is recorded" in page
    card = item_card(page, item)
    assert re.search(r"Your vote: <strong>request revision</strong>", card)
    assert "AVIS-PRIVE-DU-VOISIN" not in page
    assert "Votes cast: 2 of 5" in card  # a count, never whose or which


def test_recused_member_sees_no_vote_form_and_no_tally(client, board, project):
    session, (item,) = open_session(board, [project])
    recused, colleague = board.members[0], board.members[1]
    declare_and_vote(item, colleague, "approve")
    as_user(client, recused)
    response = client.post(url("declare", session.pk, item.pk),
                           declaration_data(item, conflict=True, note="Ma cousine."))
    assert response.status_code == 302
    card = item_card(html_of(client.get(url("member", session.pk))), item)
    assert "Recused" in card
    for hidden in ("tamkeen-vote-form", "tamkeen-tally", "Votes cast", "tamkeen-declaration-form"):
        assert hidden not in card, hidden
    # Posting a vote anyway is refused with the service's message; nothing changes.
    before = snapshot(session)
    page = html_of(client.post(url("vote", session.pk, item.pk), vote_data(item)))
    assert "You declared a conflict of interest on this file and are recused from it." in page
    assert snapshot(session) == before
    # The colleague, not recused, sees the count (so the absence above is the recusal's doing).
    as_user(client, colleague)
    assert "tamkeen-tally" in item_card(html_of(client.get(url("member", session.pk))), item)


def test_a_score_out_of_range_shows_a_field_error_and_changes_nothing(client, board, project):
    session, (item,) = open_session(board, [project])
    member = board.members[0]
    committee.item_declare_interest(item_id=item.pk, actor=member, has_conflict=False)
    as_user(client, member)
    before = snapshot(session)
    page = html_of(client.post(url("vote", session.pk, item.pk),
                               vote_data(item, scores={**FULL_SCORES, "impact": 7})))
    assert re.search(r'tamkeen-field--error">\s*<label for="id_item\d+-score_impact"', page)
    assert "Give a whole score from 0 to 5." in page
    assert not re.search(r'tamkeen-field--error">\s*<label for="id_item\d+-score_viability"', page)
    assert snapshot(session) == before
    assert not Vote.objects.filter(item=item).exists()
