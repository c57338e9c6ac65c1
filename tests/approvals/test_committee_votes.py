"""Votes and the chair's confirmation through the approvals services (issue 4): who
may vote and when, and the field-level errors of bad input (scores, choices, approved
amounts, reasons, attendance).

The committee is the chair (``cast.chair``) and four members. Every refused call is
checked to change nothing: no Vote row, no audit entry, item, session and projects as
they were.
"""

from decimal import Decimal

import pytest
from django.utils import translation

from approvals import services as committee
from approvals.models import Vote
from core.roles import Role
from tests._committee_support import (
    FULL_SCORES,
    declare_and_vote,
    entries,
    fresh_item,
    open_session,
    plan_session,
    refused,
    snapshot,
    vote_all,
)

# --- Votes --------------------------------------------------------------------------------

def test_voting_twice_replaces_the_first_vote_and_both_are_audited(board, project):
    _chair, a, *_rest = board.everyone
    session, (item,) = open_session(board, [project])
    committee.item_declare_interest(item_id=item.pk, actor=a, has_conflict=False)
    committee.item_vote(item_id=item.pk, actor=a, choice="approve", scores=FULL_SCORES, comment="Solide.")
    second = {"viability": 1, "impact": 2, "capacity": 0, "market": 1}
    committee.item_vote(item_id=item.pk, actor=a, choice="reject", scores=second, comment="Marché saturé.")

    vote = Vote.objects.get(item=item, user=a)
    assert Vote.objects.filter(item=item).count() == 1
    assert (vote.choice, vote.scores, vote.comment) == ("reject", second, "Marché saturé.")
    casts = [e for e in entries(session) if e.transition == "cast_vote"]
    assert [(e.actor_id, e.payload["choice"], e.payload["replaces"], e.payload["scores"]) for e in casts] == [
        (a.pk, "approve", None, FULL_SCORES),
        (a.pk, "reject", "approve", second),
    ]
    assert [(e.from_state, e.to_state) for e in casts] == [("open", "open"), ("open", "open")]


def test_voting_after_close_is_refused(board, project):
    chair, a, b, *_rest = board.everyone
    session, (item,) = open_session(board, [project])
    vote_all(item, [(chair, "approve"), (a, "approve"), (b, "approve")])
    committee.item_confirm_decision(item_id=item.pk, actor=chair, amount="55000.00")
    committee.session_close(session_id=session.pk, actor=chair)
    before = snapshot(session)
    refused(lambda: committee.item_vote(item_id=item.pk, actor=a, choice="reject", scores=FULL_SCORES),
            "transition_not_allowed")
    refused(lambda: committee.item_declare_interest(item_id=item.pk, actor=b, has_conflict=True),
            "transition_not_allowed")
    refused(lambda: committee.item_confirm_decision(item_id=item.pk, actor=chair, amount="50000.00"),
            "transition_not_allowed")
    assert snapshot(session) == before
    assert Vote.objects.get(item=item, user=a).choice == "approve"


def test_voting_before_the_session_opens_is_refused(board, project):
    _chair, a, *_rest = board.everyone
    session, (item,) = plan_session(board, [project])
    committee.item_declare_interest(item_id=item.pk, actor=a, has_conflict=False)  # allowed while planned
    before = snapshot(session)
    refused(lambda: committee.item_vote(item_id=item.pk, actor=a, choice="approve", scores=FULL_SCORES),
            "transition_not_allowed")
    assert snapshot(session) == before


def test_a_non_member_voting_is_refused(board, project, make_user):
    outsider = make_user(Role.COMMITTEE_MEMBER)
    session, (item,) = open_session(board, [project])
    before = snapshot(session)
    refused(lambda: committee.item_declare_interest(item_id=item.pk, actor=outsider, has_conflict=False),
            "not_a_member")
    refused(lambda: committee.item_vote(item_id=item.pk, actor=outsider, choice="approve", scores=FULL_SCORES),
            "not_a_member")
    # Without the committee role at all: refused before membership is even looked at.
    refused(lambda: committee.item_vote(item_id=item.pk, actor=board.officer, choice="approve",
                                        scores=FULL_SCORES), "permission_denied")
    assert snapshot(session) == before
    assert not Vote.objects.filter(item=item).exists()


def test_voting_without_declaring_interest_is_refused(board, project):
    _chair, a, *_rest = board.everyone
    session, (item,) = open_session(board, [project])
    before = snapshot(session)
    refused(lambda: committee.item_vote(item_id=item.pk, actor=a, choice="approve", scores=FULL_SCORES),
            "interest_not_declared")
    assert snapshot(session) == before


def test_an_absent_member_voting_is_refused(board, project):
    chair, a, b, c, absent = board.everyone
    session, (item,) = open_session(board, [project], present=[chair, a, b, c])
    committee.item_declare_interest(item_id=item.pk, actor=absent, has_conflict=False)
    before = snapshot(session)
    refused(lambda: committee.item_vote(item_id=item.pk, actor=absent, choice="reject", scores=FULL_SCORES),
            "not_present")
    assert snapshot(session) == before


def test_only_the_chair_confirms_and_closes(board, project):
    chair, a, b, *_rest = board.everyone
    session, (item,) = open_session(board, [project])
    vote_all(item, [(chair, "approve"), (a, "approve"), (b, "approve")])
    before = snapshot(session)
    refused(lambda: committee.item_confirm_decision(item_id=item.pk, actor=a, amount="55000.00"),
            "not_a_member")
    committee.item_confirm_decision(item_id=item.pk, actor=chair, amount="55000.00")
    after_confirm = snapshot(session)
    refused(lambda: committee.session_close(session_id=session.pk, actor=a), "not_a_member")
    refused(lambda: committee.session_close(session_id=session.pk, actor=board.officer), "not_a_member")
    assert snapshot(session) == after_confirm
    assert after_confirm["audit_count"] == before["audit_count"] + 1


# --- Bad input: field-level errors, nothing changed ----------------------------------------

@pytest.fixture
def voting(board, project):
    """An open session; member ``a`` declared no conflict and voted approve with FULL_SCORES."""
    session, (item,) = open_session(board, [project])
    a = board.members[0]
    declare_and_vote(item, a, "approve", comment="Bon dossier.")
    return session, item, a


@pytest.mark.parametrize(
    ("scores", "field"),
    [
        ({**FULL_SCORES, "impact": 6}, "score_impact"),
        ({**FULL_SCORES, "viability": -1}, "score_viability"),
        ({**FULL_SCORES, "market": "3.5"}, "score_market"),
        ({**FULL_SCORES, "market": 3.5}, "score_market"),
        ({**FULL_SCORES, "capacity": "trois"}, "score_capacity"),
        ({**FULL_SCORES, "capacity": None}, "score_capacity"),
        ({k: v for k, v in FULL_SCORES.items() if k != "capacity"}, "score_capacity"),
        ({**FULL_SCORES, "beauty": 5}, "scores"),
    ],
    ids=["six", "minus-one", "text-3.5", "float-3.5", "word", "none", "missing", "unknown"],
)
def test_bad_scores_are_refused_field_by_field_and_change_nothing(voting, board, scores, field):
    session, item, a = voting
    b = board.members[1]
    committee.item_declare_interest(item_id=item.pk, actor=b, has_conflict=False)
    before = snapshot(session)
    # A first vote with a bad score creates no Vote row...
    error = refused(lambda: committee.item_vote(item_id=item.pk, actor=b, choice="approve", scores=scores),
                    "invalid_input")
    assert list(error.field_errors) == [field]
    # ...and a replacing vote with a bad score leaves the first one as it was.
    error = refused(lambda: committee.item_vote(item_id=item.pk, actor=a, choice="reject", scores=scores),
                    "invalid_input")
    assert list(error.field_errors) == [field]
    assert snapshot(session) == before
    assert not Vote.objects.filter(item=item, user=b).exists()
    vote = Vote.objects.get(item=item, user=a)
    assert (vote.choice, vote.scores, vote.comment) == ("approve", FULL_SCORES, "Bon dossier.")


def test_every_bad_score_is_reported_at_once(voting):
    session, item, a = voting
    before = snapshot(session)
    error = refused(lambda: committee.item_vote(item_id=item.pk, actor=a, choice="approve",
                                                scores={"viability": 6, "impact": -1}), "invalid_input")
    assert sorted(error.field_errors) == ["score_capacity", "score_impact", "score_market", "score_viability"]
    assert snapshot(session) == before


def test_an_unknown_choice_is_refused(voting):
    session, item, a = voting
    before = snapshot(session)
    error = refused(lambda: committee.item_vote(item_id=item.pk, actor=a, choice="abstain", scores=FULL_SCORES),
                    "invalid_input")
    assert list(error.field_errors) == ["choice"]
    assert snapshot(session) == before


def test_whole_number_strings_are_accepted_as_scores(voting):
    _session, item, a = voting
    committee.item_vote(item_id=item.pk, actor=a, choice="approve",
                        scores={"viability": "0", "impact": "5", "capacity": 2, "market": 3})
    assert Vote.objects.get(item=item, user=a).scores == {"viability": 0, "impact": 5, "capacity": 2, "market": 3}


@pytest.fixture
def approving(board, project):
    """An open session whose single item the rule proposes to approve (requested 60000.00)."""
    chair, a, b, *_rest = board.everyone
    session, (item,) = open_session(board, [project])
    vote_all(item, [(chair, "approve"), (a, "approve"), (b, "approve")])
    return session, item


@pytest.mark.parametrize(
    ("amount", "message_part"),
    [
        ("60000.01", "requested amount"),
        ("70000.00", "requested amount"),
        (None, "amount in dirhams"),
        ("", "amount in dirhams"),
        ("0", "greater than zero"),
        ("-5.00", "greater than zero"),
        ("100.001", "two decimals"),
        (55000.0, "not floats"),
    ],
)
def test_bad_approved_amounts_are_refused_and_change_nothing(approving, board, amount, message_part):
    session, item = approving
    before = snapshot(session)
    with translation.override("en"):
        error = refused(lambda: committee.item_confirm_decision(item_id=item.pk, actor=board.chair, amount=amount),
                        "invalid_input")
    assert list(error.field_errors) == ["amount"]
    assert message_part in error.field_errors["amount"][0]
    assert snapshot(session) == before


def test_an_amount_above_the_program_ceiling_is_refused(approving, board, program):
    session, item = approving
    # The ceiling was lowered after the file (60000.00 requested) was found eligible.
    program.project_ceiling = Decimal("50000.00")
    program.save(update_fields=["project_ceiling"])
    before = snapshot(session)
    with translation.override("en"):
        error = refused(lambda: committee.item_confirm_decision(item_id=item.pk, actor=board.chair,
                                                                amount="55000.00"), "invalid_input")
    assert error.field_errors == {
        "amount": ["The approved amount cannot exceed the program ceiling of 50,000.00\xa0MAD."]}
    assert snapshot(session) == before
    # At the ceiling is fine.
    committee.item_confirm_decision(item_id=item.pk, actor=board.chair, amount="50000.00")
    assert fresh_item(item).approved_amount == Decimal("50000.00")


def test_a_bad_amount_does_not_erase_an_earlier_confirmation(approving, board):
    session, item = approving
    committee.item_confirm_decision(item_id=item.pk, actor=board.chair, amount="45000.00", conditions="Stage.")
    before = snapshot(session)
    refused(lambda: committee.item_confirm_decision(item_id=item.pk, actor=board.chair, amount="90000.00"),
            "invalid_input")
    assert snapshot(session) == before
    confirmed = fresh_item(item)
    assert (confirmed.outcome, confirmed.approved_amount, confirmed.conditions) == (
        "approve", Decimal("45000.00"), "Stage.")


@pytest.mark.parametrize("reason", ["", "   ", None])
@pytest.mark.parametrize("choice", ["reject", "revise"])
def test_a_rejection_or_revision_needs_a_reason(board, project, choice, reason):
    chair, a, b, *_rest = board.everyone
    session, (item,) = open_session(board, [project])
    vote_all(item, [(chair, choice), (a, choice), (b, choice)])
    before = snapshot(session)
    error = refused(lambda: committee.item_confirm_decision(item_id=item.pk, actor=chair, reason=reason),
                    "invalid_input")
    assert list(error.field_errors) == ["reason"]
    assert snapshot(session) == before
    assert fresh_item(item).confirmed_at is None


@pytest.mark.parametrize("scores", [["4", "5"], "4", 5], ids=["list", "text", "number"])
def test_scores_that_are_not_a_mapping_get_a_field_error(voting, scores):
    session, item, a = voting
    before = snapshot(session)
    error = refused(lambda: committee.item_vote(item_id=item.pk, actor=a, choice="approve", scores=scores),
                    "invalid_input")
    assert "scores" in error.field_errors
    assert snapshot(session) == before


def test_attendance_with_a_malformed_user_id_gets_a_field_error(board, project):
    session, _items = plan_session(board, [project])
    before = snapshot(session)
    error = refused(lambda: committee.session_record_attendance(
        session_id=session.pk, actor=board.officer, present_user_ids=[board.chair.pk, "x"]), "invalid_input")
    assert list(error.field_errors) == ["present"]
    assert snapshot(session) == before
