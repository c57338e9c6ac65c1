"""A chair who declared a conflict of interest on a file does not decide it: a member
present who declared no conflict confirms its decision in the chair's place (audited on
the session's chain as ``confirm_decision_acting``), and the chair's close applies it.
"""

from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from approvals import services as committee
from core.exceptions import TamkeenError
from tests._committee_support import (
    chain_from,
    declare_and_vote,
    fresh_item,
    fresh_project,
    open_session,
    snapshot,
)
from tests._web import as_user, html_of

AMOUNT = Decimal("48000.00")

pytestmark = pytest.mark.django_db


@pytest.fixture
def recused_file(board, make_project):
    """An open session whose chair declared a conflict on its one file: members a and b
    voted to approve, c is present but has not declared, d was absent."""
    project = make_project("eligible")
    a, b, c, d = board.members
    session, (item,) = open_session(board, [project], present=[board.chair, a, b, c])
    committee.item_declare_interest(item_id=item.pk, actor=board.chair, has_conflict=True, note="Cousin.")
    for member in (a, b):
        declare_and_vote(item, member, "approve")
    return session, item, project


def refused(call, code):
    with pytest.raises(TamkeenError) as caught:
        call()
    assert caught.value.code == code, caught.value.as_dict()
    return caught.value


def confirm(item, actor):
    return committee.item_confirm_decision(item_id=item.pk, actor=actor, amount=str(AMOUNT),
                                           conditions="Local aux normes.")


def test_the_recused_chair_cannot_confirm_and_nothing_changes(board, recused_file):
    session, item, _project = recused_file
    before = snapshot(session)
    error = refused(lambda: confirm(item, board.chair), "recused")
    assert "in your place" in error.message
    assert snapshot(session) == before


@pytest.mark.parametrize(("who", "code"), [("absent", "not_present"), ("undeclared", "interest_not_declared"),
                                         ("conflicted", "recused")])
def test_only_a_present_member_without_conflict_confirms_in_the_chairs_place(board, recused_file, who, code):
    session, item, _project = recused_file
    a, b, c, d = board.members
    if who == "conflicted":
        committee.item_declare_interest(item_id=item.pk, actor=b, has_conflict=True)
    actor = {"absent": d, "undeclared": c, "conflicted": b}[who]
    before = snapshot(session)
    refused(lambda: confirm(item, actor), code)
    assert snapshot(session) == before
    assert fresh_item(item).confirmed_at is None


def test_a_present_member_confirms_and_the_chairs_close_applies_it(board, recused_file):
    session, item, project = recused_file
    a = board.members[0]

    confirmed = confirm(item, a)

    assert (confirmed.outcome, confirmed.approved_amount, confirmed.confirmed_by_id) == ("approve", AMOUNT, a.pk)
    assert chain_from(session, "confirm_decision_acting") == [("confirm_decision_acting", "open", "open")]
    committee.session_close(session_id=session.pk, actor=board.chair)
    project = fresh_project(project)
    assert (project.state, project.approved_amount) == ("approved", AMOUNT)


def test_members_cannot_confirm_while_the_chair_is_not_recused(board, make_project):
    project = make_project("eligible")
    session, (item,) = open_session(board, [project])
    declare_and_vote(item, board.members[0], "approve")
    before = snapshot(session)
    error = refused(lambda: confirm(item, board.members[0]), "not_a_member")
    assert "chair" in error.message
    assert snapshot(session) == before


# --- The pages ------------------------------------------------------------------------------


def _member_page(user, session):
    return html_of(as_user(Client(HTTP_ACCEPT_LANGUAGE="en"), user).get(
        reverse("committees:member", args=[session.pk])))


def test_the_member_page_offers_the_decision_and_the_console_does_not(board, recused_file):
    session, item, _project = recused_file
    a, d = board.members[0], board.members[3]

    page = _member_page(a, session)
    assert "The chair declared a conflict of interest on this file" in page
    assert "Confirm in the chair's place" in page
    assert "The rule proposes" in page
    assert "Confirm in the chair" not in _member_page(d, session)  # absent: no form

    console = html_of(as_user(Client(HTTP_ACCEPT_LANGUAGE="en"), board.chair).get(
        reverse("committees:console", args=[session.pk])))
    assert "confirms its decision in your place" in console
    assert reverse("committees:confirm_decision", args=[session.pk, item.pk]) not in console


def test_a_member_confirms_from_the_page(board, recused_file):
    session, item, _project = recused_file
    a = board.members[0]
    client = as_user(Client(HTTP_ACCEPT_LANGUAGE="en"), a)
    url = reverse("committees:confirm_decision_acting", args=[session.pk, item.pk])
    prefix = f"decision{item.pk}"

    bad = client.post(url, {f"{prefix}-amount": "12.345", f"{prefix}-conditions": "", f"{prefix}-reason": ""})
    assert bad.status_code == 200 and fresh_item(item).confirmed_at is None

    done = client.post(url, {f"{prefix}-amount": "48000.00", f"{prefix}-conditions": "", f"{prefix}-reason": ""},
                       follow=True)
    assert "Decision confirmed in the chair" in done.content.decode()
    assert (fresh_item(item).confirmed_by_id, fresh_item(item).approved_amount) == (a.pk, AMOUNT)
