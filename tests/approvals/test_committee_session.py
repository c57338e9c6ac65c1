"""A committee session through the approvals services: agenda, attendance, conflicts of
interest, votes, decisions and close (issue 4).

The committee is the chair (``cast.chair``) and four members, so five members in all; the
program's defaults are a 50 % quorum (3 of 5) and a simple majority of votes cast.
Every refused call is checked to change nothing: no Vote row, no audit entry, item,
session and projects as they were.
"""

from decimal import Decimal

import pytest
from django.utils import translation

from approvals import services as committee
from approvals.models import AgendaItem, InterestDeclaration, SessionMinutes, Vote
from core.exceptions import TamkeenError
from core.roles import Role
from tests._committee_support import (
    FULL_SCORES,
    chain,
    chain_from,
    declare_and_vote,
    entries,
    fresh_item,
    fresh_project,
    fresh_session,
    make_board,
    open_session,
    plan_session,
    snapshot,
)
from workflow import services as workflow_services
from workflow.models import Program

AMOUNT = Decimal("55000.00")


@pytest.fixture(autouse=True)
def _fast_test_settings(settings, tmp_path):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.MEDIA_ROOT = str(tmp_path)


@pytest.fixture
def board(cast, program, make_user):
    return make_board(cast, program, make_user, n_members=4)


@pytest.fixture
def project(make_project):
    return make_project("eligible")


def refused(call, code):
    """Run ``call``, which must raise the coded error ``code``; return the error."""
    with pytest.raises(TamkeenError) as caught:
        call()
    assert caught.value.code == code, caught.value.as_dict()
    return caught.value


def vote_all(item, voters_and_choices):
    for user, choice in voters_and_choices:
        declare_and_vote(item, user, choice)


# --- The whole flow ---------------------------------------------------------------------

def test_full_flow_quorum_reached_approves_and_commits_the_amount(board, project, program):
    session, (item,) = open_session(board, [project])
    assert session.state == "open"
    assert fresh_project(project).state == "in_committee"
    chair, a, b, c, d = board.everyone
    vote_all(item, [(chair, "approve"), (a, "approve"), (b, "approve"), (c, "approve"), (d, "reject")])

    tally = committee.item_tally(fresh_item(item))
    assert tally.as_dict() == {
        "members": 5, "recused": 0, "voters": 5, "quorum_needed": 3, "quorum_met": True,
        "approve": 4, "revise": 0, "reject": 1, "proposal": "approve",
    }
    committee.item_confirm_decision(item_id=item.pk, actor=chair, amount="55000.00",
                                    conditions="Suivre le module de gestion.")
    closed = committee.session_close(session_id=session.pk, actor=chair)

    assert closed.state == "closed"
    assert fresh_session(session).closed_at is not None
    done = fresh_item(item)
    assert (done.outcome, done.approved_amount, done.conditions) == (
        "approve", AMOUNT, "Suivre le module de gestion.")
    p = fresh_project(project)
    assert (p.state, p.approved_amount, p.decision_conditions) == (
        "approved", AMOUNT, "Suivre le module de gestion.")
    assert Program.objects.get(pk=program.pk).committed_amount() == AMOUNT
    assert SessionMinutes.objects.filter(session=session).count() == 1
    decide = entries(project)[-1]
    assert (decide.transition, decide.actor_id) == ("decide_approve", chair.pk)
    assert decide.payload["amount"] == "55000.00"
    assert decide.payload["decision"] == f"session:{session.pk}/item:{item.pk}"


def test_quorum_missed_defers_and_the_project_goes_back_to_eligible(board, project):
    chair, a, *_absent = board.everyone
    session, (item,) = open_session(board, [project], present=[chair, a])
    vote_all(item, [(chair, "approve"), (a, "approve")])
    tally = committee.item_tally(fresh_item(item))
    assert (tally.quorum_needed, len(tally.voters), tally.quorum_met, tally.proposal) == (
        3, 2, False, "no_quorum")

    with translation.override("en"):
        committee.item_confirm_decision(item_id=item.pk, actor=chair, amount="55000.00")
    confirmed = fresh_item(item)
    # No quorum: the file is deferred, whatever amount the chair typed.
    assert (confirmed.outcome, confirmed.approved_amount, confirmed.reason) == ("defer", None, "no quorum")
    committee.session_close(session_id=session.pk, actor=chair)

    p = fresh_project(project)
    assert (p.state, p.approved_amount) == ("eligible", None)
    assert chain_from(project, "schedule") == [
        ("schedule", "eligible", "in_committee"),
        ("defer", "in_committee", "eligible"),
    ]
    assert entries(project)[-1].payload["reason"] == "no quorum"
    # Deferred, it can go on the next session's agenda.
    later, (again,) = plan_session(board, [p], title="Session d'avril")
    assert fresh_project(project).state == "in_committee"
    assert again.session_id == later.pk


def test_recusal_removes_the_member_from_the_quorum_and_from_voting(board, project):
    chair, a, b, *_absent = board.everyone
    # Three of five present: without recusal 3 needed; a recuses, so the base is 4 and 2 are needed.
    session, (item,) = open_session(board, [project], present=[chair, a, b])
    committee.item_declare_interest(item_id=item.pk, actor=a, has_conflict=True, note="Ma cousine.")
    before = snapshot(session)
    refused(lambda: committee.item_vote(item_id=item.pk, actor=a, choice="approve", scores=FULL_SCORES),
            "recused")
    assert snapshot(session) == before
    vote_all(item, [(chair, "approve"), (b, "approve")])

    tally = committee.item_tally(fresh_item(item))
    assert tally.as_dict() == {
        "members": 5, "recused": 1, "voters": 2, "quorum_needed": 2, "quorum_met": True,
        "approve": 2, "revise": 0, "reject": 0, "proposal": "approve",
    }
    assert tally.recused == {a.pk}
    committee.item_confirm_decision(item_id=item.pk, actor=chair, amount="55000.00")
    committee.session_close(session_id=session.pk, actor=chair)
    assert fresh_project(project).state == "approved"
    close = entries(session)[-1]
    assert close.payload["decisions"][0]["tally"]["recused"] == 1
    declaration = [e for e in entries(session) if e.transition == "declare_interest"][0]
    assert (declaration.actor_id, declaration.payload["conflict"], declaration.payload["note"]) == (
        a.pk, True, "Ma cousine.")


def test_declaring_a_conflict_after_voting_withdraws_the_vote(board, project):
    chair, a, *_rest = board.everyone
    session, (item,) = open_session(board, [project])
    declare_and_vote(item, a, "approve")
    committee.item_declare_interest(item_id=item.pk, actor=a, has_conflict=True, note="Voisine.")
    assert not Vote.objects.filter(item=item, user=a).exists()
    last = entries(session)[-1]
    assert (last.transition, last.actor_id, last.payload["conflict"], last.payload["vote_withdrawn"]) == (
        "declare_interest", a.pk, True, True)


def test_a_declared_conflict_cannot_be_withdrawn(board, project):
    _chair, a, *_rest = board.everyone
    session, (item,) = open_session(board, [project])
    committee.item_declare_interest(item_id=item.pk, actor=a, has_conflict=True)
    before = snapshot(session)
    error = refused(lambda: committee.item_declare_interest(item_id=item.pk, actor=a, has_conflict=False),
                    "invalid_input")
    assert list(error.field_errors) == ["has_conflict"]
    assert snapshot(session) == before
    assert InterestDeclaration.objects.get(item=item, user=a).has_conflict is True


def test_tie_defers(board, project):
    chair, a, b, c, _absent = board.everyone
    session, (item,) = open_session(board, [project], present=[chair, a, b, c])
    vote_all(item, [(chair, "approve"), (a, "approve"), (b, "reject"), (c, "reject")])
    assert committee.item_tally(fresh_item(item)).proposal == "tie"
    with translation.override("en"):
        committee.item_confirm_decision(item_id=item.pk, actor=chair)
    assert (fresh_item(item).outcome, fresh_item(item).reason) == ("defer", "tie")
    committee.session_close(session_id=session.pk, actor=chair)
    assert fresh_project(project).state == "eligible"
    assert chain_from(project, "schedule")[-1] == ("defer", "in_committee", "eligible")


def test_chair_can_give_the_deferral_reason(board, project):
    chair, a, b, c, _absent = board.everyone
    session, (item,) = open_session(board, [project], present=[chair, a, b, c])
    vote_all(item, [(chair, "approve"), (a, "revise"), (b, "reject"), (c, "reject")])
    # 2 reject of 4 cast is not more than half.
    assert committee.item_tally(fresh_item(item)).proposal == "no_majority"
    committee.item_confirm_decision(item_id=item.pk, actor=chair, reason="Revoir en avril.")
    assert (fresh_item(item).outcome, fresh_item(item).reason) == ("defer", "Revoir en avril.")


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


# --- Closing ------------------------------------------------------------------------------

def test_closing_twice_is_refused_and_applies_nothing_twice(board, project, program):
    chair, a, b, *_rest = board.everyone
    session, (item,) = open_session(board, [project])
    vote_all(item, [(chair, "approve"), (a, "approve"), (b, "approve")])
    committee.item_confirm_decision(item_id=item.pk, actor=chair, amount="55000.00")
    committee.session_close(session_id=session.pk, actor=chair)
    project_chain = chain(project)
    session_chain = chain(session)
    before = snapshot(session)

    refused(lambda: committee.session_close(session_id=session.pk, actor=chair), "transition_not_allowed")

    assert chain(project) == project_chain
    assert [t for t, _f, _s in chain(project)].count("decide_approve") == 1
    assert chain(session) == session_chain
    assert snapshot(session) == before
    assert SessionMinutes.objects.filter(session=session).count() == 1
    assert Program.objects.get(pk=program.pk).committed_amount() == AMOUNT


def test_a_close_whose_approvals_overrun_the_envelope_applies_nothing(cast, make_user, make_project):
    tight = Program.objects.create(code="tight-envelope", name="AGR Driouch", year=2025,
                                   envelope=Decimal("100000.00"), project_ceiling=Decimal("100000.00"))
    board = make_board(cast, tight, make_user, n_members=2)
    chair, a, b = board.everyone
    first, second = make_project("eligible", program=tight), make_project("eligible", program=tight)
    session, (one, two) = open_session(board, [first, second])
    for item in (one, two):
        vote_all(item, [(chair, "approve"), (a, "approve"), (b, "approve")])
        committee.item_confirm_decision(item_id=item.pk, actor=chair, amount="60000.00")
    before = snapshot(session)
    first_chain = chain(first)

    error = refused(lambda: committee.session_close(session_id=session.pk, actor=chair), "budget_exceeded")
    assert (error.params["item"], error.params["project"]) == (two.pk, second.pk)
    # All or nothing: the first approval, which fitted, is not kept either.
    assert snapshot(session) == before
    assert chain(first) == first_chain
    assert (fresh_project(first).state, fresh_project(second).state) == ("in_committee", "in_committee")
    assert Program.objects.get(pk=tight.pk).committed_amount() == Decimal("0.00")
    assert not SessionMinutes.objects.filter(session=session).exists()


def test_closing_with_an_unconfirmed_item_is_refused(board, make_project):
    first, second = make_project("eligible"), make_project("eligible")
    chair, a, b, *_rest = board.everyone
    session, (one, two) = open_session(board, [first, second])
    vote_all(one, [(chair, "approve"), (a, "approve"), (b, "approve")])
    vote_all(two, [(chair, "approve"), (a, "approve"), (b, "approve")])
    committee.item_confirm_decision(item_id=one.pk, actor=chair, amount="55000.00")
    before = snapshot(session)

    error = refused(lambda: committee.session_close(session_id=session.pk, actor=chair), "decisions_missing")
    assert error.params == {"items": [two.pk]}
    assert len(error.field_errors["__all__"]) == 1
    assert fresh_project(second).reference in error.field_errors["__all__"][0]
    assert snapshot(session) == before
    assert (fresh_project(first).state, fresh_project(second).state) == ("in_committee", "in_committee")
    assert not SessionMinutes.objects.filter(session=session).exists()


def test_closing_after_votes_changed_the_confirmed_outcome_is_refused(board, project):
    chair, a, b, c, d = board.everyone
    session, (item,) = open_session(board, [project])
    vote_all(item, [(chair, "approve"), (a, "approve"), (b, "approve"), (c, "reject"), (d, "reject")])
    committee.item_confirm_decision(item_id=item.pk, actor=chair, amount="55000.00")
    committee.item_vote(item_id=item.pk, actor=b, choice="reject", scores=FULL_SCORES)  # now 2 approve, 3 reject
    before = snapshot(session)

    error = refused(lambda: committee.session_close(session_id=session.pk, actor=chair), "decision_outdated")
    assert error.params == {"item": item.pk}
    assert snapshot(session) == before
    assert fresh_project(project).state == "in_committee"

    # Confirmed again, the session closes with the new outcome.
    committee.item_confirm_decision(item_id=item.pk, actor=chair, reason="Le marché local est saturé.")
    assert (fresh_item(item).outcome, fresh_item(item).approved_amount) == ("reject", None)
    committee.session_close(session_id=session.pk, actor=chair)
    p = fresh_project(project)
    assert (p.state, p.approved_amount) == ("rejected", None)
    assert entries(project)[-1].payload["reason"] == "Le marché local est saturé."


# --- Agenda -------------------------------------------------------------------------------

def test_removing_an_item_before_opening_returns_the_project_to_eligible(board, make_project):
    kept, removed = make_project("eligible"), make_project("eligible")
    session, (_kept_item, item) = plan_session(board, [kept, removed])
    committee.session_remove_item(session_id=session.pk, item_id=item.pk, actor=board.officer,
                                  reason="Pièce à vérifier.")
    assert fresh_item(item).removed is True
    assert fresh_project(removed).state == "eligible"
    assert chain_from(removed, "schedule") == [
        ("schedule", "eligible", "in_committee"),
        ("defer", "in_committee", "eligible"),
    ]
    last = entries(session)[-1]
    assert (last.transition, last.from_state, last.to_state, last.payload) == (
        "remove_item", "planned", "planned",
        {"item": item.pk, "project": removed.pk, "reason": "Pièce à vérifier."})
    # Its item is off the agenda: no declaration on it.
    refused(lambda: committee.item_declare_interest(item_id=item.pk, actor=board.chair, has_conflict=False),
            "invalid_input")


def test_removing_an_item_needs_a_reason(board, project):
    session, (item,) = plan_session(board, [project])
    before = snapshot(session)
    error = refused(lambda: committee.session_remove_item(session_id=session.pk, item_id=item.pk,
                                                          actor=board.officer, reason="  "), "invalid_input")
    assert list(error.field_errors) == ["reason"]
    assert snapshot(session) == before


def test_removing_an_item_once_open_is_refused(board, project):
    session, (item,) = open_session(board, [project])
    before = snapshot(session)
    refused(lambda: committee.session_remove_item(session_id=session.pk, item_id=item.pk, actor=board.officer,
                                                  reason="Trop tard."), "transition_not_allowed")
    assert snapshot(session) == before
    assert fresh_project(project).state == "in_committee"
    assert fresh_item(item).removed is False


def test_adding_a_file_that_is_not_eligible_is_refused(board, make_project):
    session, _items = plan_session(board, [])
    submitted = make_project("submitted")
    before = snapshot(session)
    refused(lambda: committee.session_add_item(session_id=session.pk, project_id=submitted.pk,
                                               actor=board.officer), "transition_not_allowed")
    assert snapshot(session) == before
    assert fresh_project(submitted).state == "submitted"
    assert not AgendaItem.objects.filter(session=session).exists()


# --- The exact audit sequence --------------------------------------------------------------

def test_the_audit_sequence_of_a_full_small_session(cast, program, make_user, make_project):
    board = make_board(cast, program, make_user, n_members=2)
    chair, a, b = board.everyone
    approved, rejected = make_project("eligible"), make_project("eligible")
    session, (one, two) = plan_session(board, [approved, rejected])
    committee.item_declare_interest(item_id=two.pk, actor=b, has_conflict=True, note="Parente.")
    committee.session_record_attendance(session_id=session.pk, actor=board.officer,
                                        present_user_ids=[chair.pk, a.pk, b.pk])
    committee.session_open(session_id=session.pk, actor=chair)
    vote_all(one, [(chair, "approve"), (a, "approve"), (b, "revise")])
    vote_all(two, [(chair, "reject"), (a, "reject")])
    committee.item_vote(item_id=one.pk, actor=b, choice="approve", scores=FULL_SCORES)  # b changes their vote
    committee.item_confirm_decision(item_id=one.pk, actor=chair, amount="60000.00", conditions="Formation.")
    committee.item_confirm_decision(item_id=two.pk, actor=chair, reason="Étude de marché insuffisante.")
    committee.session_close(session_id=session.pk, actor=chair)

    session_entries = entries(session)
    assert [(e.transition, e.from_state, e.to_state) for e in session_entries] == [
        ("create", "", "planned"),
        ("add_item", "planned", "planned"),
        ("add_item", "planned", "planned"),
        ("declare_interest", "planned", "planned"),
        ("record_attendance", "planned", "planned"),
        ("open", "planned", "open"),
        ("declare_interest", "open", "open"),
        ("cast_vote", "open", "open"),
        ("declare_interest", "open", "open"),
        ("cast_vote", "open", "open"),
        ("declare_interest", "open", "open"),
        ("cast_vote", "open", "open"),
        ("declare_interest", "open", "open"),
        ("cast_vote", "open", "open"),
        ("declare_interest", "open", "open"),
        ("cast_vote", "open", "open"),
        ("cast_vote", "open", "open"),
        ("confirm_decision", "open", "open"),
        ("confirm_decision", "open", "open"),
        ("close", "open", "closed"),
    ]
    assert [e.seq for e in session_entries] == list(range(1, 21))
    assert [e.actor_id for e in session_entries] == [
        board.officer.pk, board.officer.pk, board.officer.pk, b.pk, board.officer.pk, chair.pk,
        chair.pk, chair.pk, a.pk, a.pk, b.pk, b.pk, chair.pk, chair.pk, a.pk, a.pk, b.pk,
        chair.pk, chair.pk, chair.pk,
    ]
    assert [e.actor_role for e in session_entries] == [
        "program_officer", "program_officer", "program_officer", "committee_member", "program_officer",
        "committee_chair", *["committee_member"] * 11, "committee_chair", "committee_chair",
        "committee_chair",
    ]
    assert all(e.prev_hash == p.entry_hash for p, e in zip(session_entries, session_entries[1:], strict=False))
    close = session_entries[-1]
    assert close.payload["decisions"] == [
        {"item": one.pk, "project": approved.pk, "outcome": "approve", "amount": "60000.00",
         "tally": {"members": 3, "recused": 0, "voters": 3, "quorum_needed": 2, "quorum_met": True,
                   "approve": 3, "revise": 0, "reject": 0, "proposal": "approve"}, "applied": True},
        {"item": two.pk, "project": rejected.pk, "outcome": "reject", "amount": None,
         "tally": {"members": 3, "recused": 1, "voters": 2, "quorum_needed": 1, "quorum_met": True,
                   "approve": 0, "revise": 0, "reject": 2, "proposal": "reject"}, "applied": True},
    ]
    assert close.payload["minutes_sha256"] == SessionMinutes.objects.get(session=session).sha256

    assert chain_from(approved, "schedule") == [
        ("schedule", "eligible", "in_committee"),
        ("decide_approve", "in_committee", "approved"),
    ]
    assert chain_from(rejected, "schedule") == [
        ("schedule", "eligible", "in_committee"),
        ("decide_reject", "in_committee", "rejected"),
    ]
    assert entries(approved)[-1].payload == {
        "outcome": "approve", "amount": "60000.00", "conditions": "Formation.",
        "decision": f"session:{session.pk}/item:{one.pk}",
    }
    assert entries(rejected)[-1].payload == {
        "outcome": "reject", "reason": "Étude de marché insuffisante.",
        "decision": f"session:{session.pk}/item:{two.pk}",
    }


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
        "amount": ["The approved amount cannot exceed the program ceiling of 50000.00 MAD."]}
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


def test_a_file_withdrawn_during_the_session_does_not_block_the_close(board, project, cast):
    chair, a, b, *_rest = board.everyone
    session, (item,) = open_session(board, [project])
    vote_all(item, [(chair, "approve"), (a, "approve"), (b, "approve")])
    committee.item_confirm_decision(item_id=item.pk, actor=chair, amount="55000.00")
    try:
        workflow_services.project_withdraw(project_id=project.pk, actor=cast.agent, reason="Départ de la famille.")
    except TamkeenError:
        withdrawn = False  # refused while on an open agenda: acceptable
    else:
        withdrawn = True
    committee.session_close(session_id=session.pk, actor=chair)
    assert fresh_session(session).state == "closed"
    assert fresh_project(project).state == ("withdrawn" if withdrawn else "approved")
