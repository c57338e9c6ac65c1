"""The committee screens (issue 4, item 7) through the Django test client: the chair's
console (opening, the live quorum, confirming and closing), the archive and the
minutes. States are reached through the approvals services (tests/_committee_support);
every refused or invalid post is checked to change nothing."""

import hashlib
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from approvals import services as committee
from approvals.models import MinutesConfirmation, SessionMinutes
from disbursements.selectors import committed_amount
from ledger.models import AuditEntry
from tests._committee_screens import close_through_services, decision_data, item_card, url
from tests._committee_support import (
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
from tests._web import as_user, html_of, without_waiting_panel
from workflow.models import Program

pytestmark = pytest.mark.django_db


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
    assert committed_amount(Program.objects.get(pk=program.pk)) == Decimal("55000.00")


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


def archive(response):
    """The page's list of sessions, without its "waiting for me" panel."""
    return without_waiting_panel(html_of(response))


def test_archive_lists_sessions_filters_them_and_has_an_empty_state(client, board, make_project):
    as_user(client, board.members[0])
    assert "No committee session yet." in archive(client.get(url("index")))
    planned, _items = plan_session(board, [make_project("eligible")], title="Session de mai")
    closed = close_through_services(board, open_session(board, [make_project("eligible")],
                                                        title="Session de mars")[1])
    page = archive(client.get(url("index")))
    assert "Session de mai" in page and "Session de mars" in page
    assert page.count("tamkeen-minutes-link") == 1
    assert url("minutes", closed.pk) in page and url("confirmations", closed.pk) in page
    assert url("minutes", planned.pk) not in page
    only_closed = archive(client.get(url("index"), {"state": "closed"}))
    assert "Session de mars" in only_closed and "Session de mai" not in only_closed
    by_title = archive(client.get(url("index"), {"q": "mai"}))
    assert "Session de mai" in by_title and "Session de mars" not in by_title
    assert "No session matches." in archive(client.get(url("index"), {"q": "juillet"}))
    by_committee = archive(client.get(url("index"), {"committee": board.committee.pk}))
    assert "Session de mai" in by_committee and "Session de mars" in by_committee
    by_committee_name = archive(client.get(url("index"), {"q": board.committee.name.split()[0]}))
    assert "Session de mai" in by_committee_name
    # An unknown committee is a form error on the page, never a 500.
    assert client.get(url("index"), {"committee": "999999"}).status_code == 200


def test_archive_is_paginated(client, board):
    for n in range(21):
        committee.session_create(actor=board.officer, committee=board.committee, title=f"Séance {n:02d}",
                                 scheduled_for=timezone.now() + timedelta(days=n))
    as_user(client, board.officer)
    first = html_of(client.get(url("index")))
    assert first.count("tamkeen-session-row") == 20 and 'Page <bdi dir="ltr">1</bdi> of 2' in first
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
    assert "approve" in detail and '55,000.00</bdi>\u00a0MAD' in detail  # the decision, once closed
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
