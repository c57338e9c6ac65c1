"""A committee session through the approvals services: the whole flow (agenda,
attendance, conflicts of interest, votes, decisions and close), the close and the agenda
(issue 4). Votes and bad input: ``test_committee_votes.py``; the exact audit sequence of
a session: ``test_committee_audit_sequence.py``.

The committee is the chair (``cast.chair``) and four members, so five members in all; the
program's defaults are a 50 % quorum (3 of 5) and a simple majority of votes cast.
Every refused call is checked to change nothing: no Vote row, no audit entry, item,
session and projects as they were.
"""

from decimal import Decimal

from django.utils import translation

from approvals import services as committee
from approvals.models import AgendaItem, InterestDeclaration, SessionMinutes, Vote
from core.exceptions import TamkeenError
from disbursements.selectors import committed_amount
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
    refused,
    snapshot,
    vote_all,
)
from workflow import services as workflow_services
from workflow.models import Program

AMOUNT = Decimal("55000.00")


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
    assert committed_amount(Program.objects.get(pk=program.pk)) == AMOUNT
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
    assert committed_amount(Program.objects.get(pk=program.pk)) == AMOUNT


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
    assert committed_amount(Program.objects.get(pk=tight.pk)) == Decimal("0.00")
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
