"""The committee screens (issue 4, item 7) through the Django test client: the officer's
agenda builder, the member's session page, the chair's console, the archive and the
minutes. States are reached through the approvals services (tests/_committee_support);
every refused or invalid post is checked to change nothing."""

import hashlib
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from approvals import services as committee
from approvals.models import (
    AgendaItem,
    Attendance,
    CommitteeSession,
    InterestDeclaration,
    MinutesConfirmation,
    SessionMinutes,
    Vote,
)
from core.roles import Role
from ledger.models import AuditEntry
from tests._committee_support import (
    FULL_SCORES,
    PASSWORD,
    declare_and_vote,
    fresh_item,
    fresh_project,
    fresh_session,
    make_board,
    open_session,
    plan_session,
    snapshot,
)
from tests._web import as_user, html_of
from workflow.models import Program

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_test_settings(settings, tmp_path):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.MEDIA_ROOT = str(tmp_path)


@pytest.fixture
def client():
    # Messages are asserted in English; the site's default language is French.
    return Client(HTTP_ACCEPT_LANGUAGE="en")


@pytest.fixture
def board(cast, program, make_user):
    return make_board(cast, program, make_user, n_members=4)


@pytest.fixture
def project(make_project):
    return make_project("eligible")


def url(name, *args):
    return reverse(f"committees:{name}", args=args)


def item_card(html, item) -> str:
    """The HTML of one agenda item's card on the member page or the console."""
    start = html.index(f'id="item-{item.pk}"')
    following = re.search(r'id="item-\d+"', html[start + 10:])
    return html[start:start + 10 + following.start()] if following else html[start:]


def vote_data(item, choice="approve", scores=None, comment=""):
    prefix = f"item{item.pk}"
    data = {f"{prefix}-choice": choice, f"{prefix}-comment": comment}
    for code, value in (FULL_SCORES if scores is None else scores).items():
        data[f"{prefix}-score_{code}"] = str(value)
    return data


def declaration_data(item, conflict=False, note=""):
    prefix = f"item{item.pk}"
    return {f"{prefix}-has_conflict": "conflict" if conflict else "none", f"{prefix}-note": note}


def decision_data(item, **fields):
    return {f"decision{item.pk}-{name}": value for name, value in fields.items()}


def close_through_services(board, items, *, voters=None, amount="55000.00"):
    """``voters`` (default: everyone) approve every item; the chair confirms and closes."""
    session = items[0].session
    for item in items:
        for user in board.everyone if voters is None else voters:
            declare_and_vote(item, user, "approve")
        committee.item_confirm_decision(item_id=item.pk, actor=board.chair, amount=amount)
    committee.session_close(session_id=session.pk, actor=board.chair)
    return fresh_session(session)


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
    assert "60,000.00 MAD" in card and "30,000.00 MAD" in card  # requested, own contribution
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


# --- The chair's console -----------------------------------------------------------------------


def test_chair_opens_the_session_after_a_confirmation_step(client, board, project):
    session, _items = plan_session(board, [project])
    as_user(client, board.chair)
    # Without attendance the service refuses; the page says why and nothing changes.
    page = html_of(client.post(url("open", session.pk)))
    assert "Record the attendance first." in page
    assert fresh_session(session).state == "planned"

    committee.session_record_attendance(session_id=session.pk, actor=board.officer,
                                        present_user_ids=[u.pk for u in board.everyone])
    confirm = html_of(client.get(url("open", session.pk)))
    assert "1 file on the agenda" in confirm and "5 members recorded as present" in confirm
    response = client.post(url("open", session.pk))
    assert response.status_code == 302
    assert fresh_session(session).state == "open"


def test_chair_sees_the_live_quorum_confirms_and_closes(client, board, project, program):
    chair, a, b, c, _absent = board.everyone
    session, (item,) = open_session(board, [project], present=[chair, a, b, c])
    for user, choice in [(chair, "approve"), (a, "approve"), (b, "approve"), (c, "reject")]:
        declare_and_vote(item, user, choice)
    as_user(client, chair)

    page = html_of(client.get(url("console", session.pk)))
    assert "4 present of 5 members." in page
    card = item_card(page, item)
    assert "4 voters / 3 needed" in card and "reached" in card
    assert "approve: 3" in card and "request revision: 0" in card and "reject: 1" in card
    assert re.search(r'tamkeen-proposal"><strong>approve</strong>', card)

    # An amount above the ceiling is a field error; nothing is confirmed.
    before = snapshot(session)
    page = html_of(client.post(url("confirm_decision", session.pk, item.pk),
                               decision_data(item, amount="150000.00", conditions="")))
    assert re.search(r'tamkeen-field--error">\s*<label for="id_decision\d+-amount"', page)
    assert "cannot exceed the requested amount" in page
    assert snapshot(session) == before

    response = client.post(url("confirm_decision", session.pk, item.pk),
                           decision_data(item, amount="55000.00", conditions="Suivre le module de gestion."))
    assert response.status_code == 302
    assert (fresh_item(item).outcome, fresh_item(item).approved_amount) == ("approve", Decimal("55000.00"))

    confirm = html_of(client.get(url("close", session.pk)))
    assert "Closing is irreversible." in confirm
    # The confirmation box is required.
    page = html_of(client.post(url("close", session.pk), {}))
    assert re.search(r'tamkeen-field--error">\s*<label for="id_confirm"', page)
    assert fresh_session(session).state == "open"

    response = client.post(url("close", session.pk), {"confirm": "on"})
    assert response.status_code == 302 and response["Location"] == url("detail", session.pk)
    assert fresh_session(session).state == "closed"
    assert (fresh_project(project).state, fresh_project(project).approved_amount) == (
        "approved", Decimal("55000.00"))
    assert Program.objects.get(pk=program.pk).committed_amount() == Decimal("55000.00")


def test_missing_rejection_reason_shows_a_field_error_and_changes_nothing(client, board, project):
    session, (item,) = open_session(board, [project])
    for user in board.everyone:
        declare_and_vote(item, user, "reject")
    as_user(client, board.chair)
    card = item_card(html_of(client.get(url("console", session.pk))), item)
    assert f'name="decision{item.pk}-reason"' in card and f'name="decision{item.pk}-amount"' not in card
    before = snapshot(session)
    page = html_of(client.post(url("confirm_decision", session.pk, item.pk), decision_data(item, reason="")))
    assert re.search(r'tamkeen-field--error">\s*<label for="id_decision\d+-reason"', page)
    assert snapshot(session) == before
    assert fresh_item(item).confirmed_at is None


def test_closing_without_every_decision_says_which_file_and_changes_nothing(client, board, make_project):
    first, second = make_project("eligible"), make_project("eligible")
    session, (item1, item2) = open_session(board, [first, second])
    for user in board.everyone:
        declare_and_vote(item1, user, "approve")
    committee.item_confirm_decision(item_id=item1.pk, actor=board.chair, amount="50000.00")
    as_user(client, board.chair)
    before = snapshot(session)
    page = html_of(client.post(url("close", session.pk), {"confirm": "on"}))
    assert f"No confirmed decision for {second.reference}." in page
    assert f"No confirmed decision for {first.reference}." not in page
    assert snapshot(session) == before
    assert not SessionMinutes.objects.filter(session=session).exists()


def test_budget_exceeded_at_close_is_shown_and_nothing_is_applied(client, cast, make_user, make_project):
    tight = Program.objects.create(code="tight-envelope", name="AGR Zaio", year=2025,
                                   envelope=Decimal("100000.00"), project_ceiling=Decimal("100000.00"))
    board = make_board(cast, tight, make_user, n_members=2)
    first, second = make_project("eligible", program=tight), make_project("eligible", program=tight)
    session, items = open_session(board, [first, second])
    for item in items:
        for user in board.everyone:
            declare_and_vote(item, user, "approve")
        committee.item_confirm_decision(item_id=item.pk, actor=board.chair, amount="60000.00")
    as_user(client, board.chair)
    before = snapshot(session)
    page = html_of(client.post(url("close", session.pk), {"confirm": "on"}))
    errors = re.search(r'class="tamkeen-form-errors".*?</div>', page, re.S).group(0)
    assert second.reference in errors and first.reference not in errors
    assert snapshot(session) == before
    assert (fresh_project(first).state, fresh_project(second).state) == ("in_committee", "in_committee")
    assert not SessionMinutes.objects.filter(session=session).exists()


def test_the_chair_recused_from_a_file_does_not_see_its_tally(client, board, project):
    session, (item,) = open_session(board, [project])
    committee.item_declare_interest(item_id=item.pk, actor=board.chair, has_conflict=True)
    for user in board.members:
        declare_and_vote(item, user, "approve")
    as_user(client, board.chair)
    card = item_card(html_of(client.get(url("console", session.pk))), item)
    assert "You are recused from this file" in card
    assert "tamkeen-tally" not in card and "approve: 4" not in card


# --- Archive and minutes ----------------------------------------------------------------------


def test_archive_lists_sessions_filters_them_and_has_an_empty_state(client, board, make_project):
    as_user(client, board.members[0])
    assert "No committee session yet." in html_of(client.get(url("index")))
    planned, _items = plan_session(board, [make_project("eligible")], title="Session de mai")
    closed = close_through_services(board, open_session(board, [make_project("eligible")],
                                                        title="Session de mars")[1])
    page = html_of(client.get(url("index")))
    assert "Session de mai" in page and "Session de mars" in page
    assert page.count("tamkeen-minutes-link") == 1
    assert url("minutes", closed.pk) in page and url("confirmations", closed.pk) in page
    assert url("minutes", planned.pk) not in page
    only_closed = html_of(client.get(url("index"), {"state": "closed"}))
    assert "Session de mars" in only_closed and "Session de mai" not in only_closed
    by_title = html_of(client.get(url("index"), {"q": "mai"}))
    assert "Session de mai" in by_title and "Session de mars" not in by_title
    assert "No session matches." in html_of(client.get(url("index"), {"q": "juillet"}))
    by_committee = html_of(client.get(url("index"), {"committee": board.committee.pk}))
    assert "Session de mai" in by_committee and "Session de mars" in by_committee
    by_committee_name = html_of(client.get(url("index"), {"q": board.committee.name.split()[0]}))
    assert "Session de mai" in by_committee_name
    # An unknown committee is a form error on the page, never a 500.
    assert client.get(url("index"), {"committee": "999999"}).status_code == 200


def test_archive_is_paginated(client, board):
    for n in range(21):
        committee.session_create(actor=board.officer, committee=board.committee, title=f"Séance {n:02d}",
                                 scheduled_for=timezone.now() + timedelta(days=n))
    as_user(client, board.officer)
    first = html_of(client.get(url("index")))
    assert first.count("tamkeen-session-row") == 20 and "Page 1 of 2" in first
    second = html_of(client.get(url("index"), {"page": 2}))
    assert second.count("tamkeen-session-row") == 1 and "Séance 00" in second


def test_minutes_pdf_downloads_with_its_recorded_sha256(client, board, project):
    session = close_through_services(board, open_session(board, [project])[1])
    minutes = SessionMinutes.objects.get(session=session)
    as_user(client, board.members[0])
    response = client.get(url("minutes", session.pk))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith('attachment; filename="minutes-session-')
    assert response.content.startswith(b"%PDF")
    assert hashlib.sha256(response.content).hexdigest() == minutes.sha256
    closing = AuditEntry.objects.for_entity(session).order_by("seq").last()
    assert closing.payload["minutes_sha256"] == minutes.sha256
    detail = html_of(client.get(url("detail", session.pk)))
    assert minutes.sha256 in detail
    assert "approve" in detail and "55,000.00 MAD" in detail  # the decision, once closed
    # A session without minutes has no PDF.
    planned, _items = plan_session(board, [], title="Session vide")
    assert client.get(url("minutes", planned.pk)).status_code == 404


def test_present_member_confirms_the_minutes_with_their_password(client, board, project):
    chair, a, b, c, absent = board.everyone
    present = [chair, a, b, c]
    session = close_through_services(board, open_session(board, [project], present=present)[1], voters=present)
    as_user(client, a)
    confirmations = html_of(client.get(url("confirmations", session.pk)))
    assert "No member has confirmed the minutes yet." in confirmations
    assert url("confirm_minutes", session.pk) in confirmations

    before = AuditEntry.objects.count()
    page = html_of(client.post(url("confirm_minutes", session.pk), {"password": "not-my-password"}))
    assert re.search(r'tamkeen-field--error">\s*<label for="id_password"', page)
    assert "The password is not correct." in page
    assert not MinutesConfirmation.objects.filter(session=session).exists()
    assert AuditEntry.objects.count() == before

    response = client.post(url("confirm_minutes", session.pk), {"password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == url("confirmations", session.pk)
    assert MinutesConfirmation.objects.filter(session=session, user=a).exists()
    last = AuditEntry.objects.for_entity(session).order_by("seq").last()
    assert (last.transition, last.actor_id) == ("confirm_minutes", a.pk)
    page = html_of(client.get(url("confirmations", session.pk)))
    assert page.count("tamkeen-confirmation-row") == 1
    assert url("confirm_minutes", session.pk) not in page

    # A member who was absent cannot confirm.
    as_user(client, absent)
    assert url("confirm_minutes", session.pk) not in html_of(client.get(url("confirmations", session.pk)))
    page = html_of(client.post(url("confirm_minutes", session.pk), {"password": PASSWORD}))
    assert "Only members present at the session confirm its minutes." in page
    assert MinutesConfirmation.objects.filter(session=session).count() == 1

