"""Committee review on real concurrent PostgreSQL connections (DESIGN.md §4, §7).

Each test lines up threads (each with its own connection) on a barrier and lets them
call a service at once. Writing the audit entry is slowed down in the racing threads,
so the first writer still holds its row locks when the second one arrives: the second
must wait and then act on what the first committed.

Marked ``postgres``: skipped on SQLite, required in CI. The ``reference_data`` fixture
puts the role groups and reference rows of the data migrations back after each flush.
"""

from decimal import Decimal

import pytest

from approvals import services as committee
from approvals.models import SessionMinutes, Vote
from core.roles import Role
from disbursements.selectors import committed_amount, free_balance
from ledger.models import AuditEntry
from tests._committee_support import (
    FULL_SCORES,
    Board,
    chain,
    declare_and_vote,
    entries,
    fresh_project,
    fresh_session,
    make_board,
    open_session,
    snapshot,
)
from tests._concurrency import race
from workflow.models import Program

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True),
              pytest.mark.usefixtures("reference_data")]


def test_two_members_voting_at_once_are_both_stored_in_one_contiguous_chain(
        cast, program, make_user, make_project, slow_audit):
    board = make_board(cast, program, make_user, n_members=2)
    _chair, a, b = board.everyone
    session, (item,) = open_session(board, [make_project("eligible")])
    for member in (a, b):
        committee.item_declare_interest(item_id=item.pk, actor=member, has_conflict=False)
    before = entries(session)

    outcomes = race(
        lambda: committee.item_vote(item_id=item.pk, actor=a, choice="approve", scores=FULL_SCORES),
        lambda: committee.item_vote(item_id=item.pk, actor=b, choice="reject", scores=FULL_SCORES),
    )

    assert outcomes == ["ok", "ok"]
    assert sorted(Vote.objects.filter(item=item).values_list("user_id", "choice")) == sorted(
        [(a.pk, "approve"), (b.pk, "reject")])
    new = entries(session)[len(before):]
    assert [e.transition for e in new] == ["cast_vote", "cast_vote"]
    assert sorted(e.actor_id for e in new) == sorted([a.pk, b.pk])
    all_entries = entries(session)
    assert [e.seq for e in all_entries] == list(range(1, len(before) + 3))
    assert new[0].prev_hash == before[-1].entry_hash
    assert new[1].prev_hash == new[0].entry_hash


def test_two_sessions_closing_at_once_against_room_for_one_approval(cast, make_user, make_project, slow_audit):
    tight = Program.objects.create(code="tight-race", name="AGR Driouch", year=2025,
                                   envelope=Decimal("100000.00"), project_ceiling=Decimal("100000.00"))
    second_chair = make_user(Role.COMMITTEE_CHAIR, Role.COMMITTEE_MEMBER)
    north = make_board(cast, tight, make_user, n_members=2, name="Comité nord")
    south_members = [make_user(Role.COMMITTEE_MEMBER) for _ in range(2)]
    south_committee = committee.committee_create(
        actor=cast.officer, program=tight, name="Comité sud",
        members=[(second_chair, "chair"), *[(m, "member") for m in south_members]],
    )
    south = Board(committee=south_committee, chair=second_chair, members=south_members, officer=cast.officer)
    sessions = []
    for board in (north, south):
        project = make_project("eligible", program=tight)
        session, (item,) = open_session(board, [project], title=f"Session {board.committee.name}")
        for member in board.everyone:
            declare_and_vote(item, member, "approve")
        committee.item_confirm_decision(item_id=item.pk, actor=board.chair, amount="60000.00")
        sessions.append((board, session, item, project))
    before = {session.pk: (snapshot(session), chain(session), chain(project))
              for _b, session, _i, project in sessions}

    outcomes = race(*[
        (lambda b=board, s=session: committee.session_close(session_id=s.pk, actor=b.chair))
        for board, session, _item, _project in sessions
    ])

    assert sorted(outcomes) == ["budget_exceeded", "ok"], outcomes
    winner = sessions[outcomes.index("ok")]
    loser = sessions[outcomes.index("budget_exceeded")]
    _b, won_session, _i, won_project = winner
    _b, lost_session, _i, lost_project = loser
    assert fresh_session(won_session).state == "closed"
    assert fresh_project(won_project).state == "approved"
    # The loser changed nothing: still open, its file still in committee, no entry, no minutes.
    snap, session_chain, project_chain = before[lost_session.pk]
    assert fresh_session(lost_session).state == "open"
    assert fresh_project(lost_project).state == "in_committee"
    assert chain(lost_session) == session_chain
    assert chain(lost_project) == project_chain
    assert not SessionMinutes.objects.filter(session=lost_session).exists()
    after = snapshot(lost_session)
    del snap["audit_count"], after["audit_count"]  # the winner wrote entries meanwhile
    assert after == snap
    program = Program.objects.get(pk=tight.pk)
    assert committed_amount(program) == Decimal("60000.00")
    assert committed_amount(program) <= program.envelope
    assert free_balance(program) == Decimal("40000.00")


def test_closing_the_same_session_twice_at_once_applies_the_decisions_once(
        cast, program, make_user, make_project, slow_audit):
    board = make_board(cast, program, make_user, n_members=2)
    projects = [make_project("eligible"), make_project("eligible")]
    session, items = open_session(board, projects)
    for member in board.everyone:
        declare_and_vote(items[0], member, "approve")
        declare_and_vote(items[1], member, "reject")
    committee.item_confirm_decision(item_id=items[0].pk, actor=board.chair, amount="60000.00")
    committee.item_confirm_decision(item_id=items[1].pk, actor=board.chair, reason="Marché saturé.")
    audit_before = AuditEntry.objects.count()

    close = lambda: committee.session_close(session_id=session.pk, actor=board.chair)  # noqa: E731
    outcomes = race(close, close)

    assert sorted(outcomes) == ["ok", "transition_not_allowed"], outcomes
    assert fresh_session(session).state == "closed"
    assert [t for t, _f, _s in chain(session)].count("close") == 1
    assert [t for t, _f, _s in chain(projects[0])].count("decide_approve") == 1
    assert [t for t, _f, _s in chain(projects[1])].count("decide_reject") == 1
    assert (fresh_project(projects[0]).state, fresh_project(projects[1]).state) == ("approved", "rejected")
    assert SessionMinutes.objects.filter(session=session).count() == 1
    # One close entry and one decision per project: three entries in all.
    assert AuditEntry.objects.count() == audit_before + 3
    assert committed_amount(Program.objects.get(pk=program.pk)) == Decimal("60000.00")
