"""The committee's rule (approvals.tally.tally) on its own: quorum, recusal, majority.

Pure functions of plain sets: no database. Member ids 1..n; every expected value is
written out literally.
"""

import pytest

from approvals.tally import tally
from workflow.models import Program

VOTES_CAST, MEMBERS_PRESENT = "votes_cast", "members_present"


def rule(quorum=50, majority=VOTES_CAST):
    return Program(quorum_percent=quorum, majority_rule=majority)


def run(*, members=5, present=None, conflicted=(), votes=None, quorum=50, majority=VOTES_CAST):
    member_ids = set(range(1, members + 1))
    return tally(
        program=rule(quorum, majority), member_ids=member_ids,
        present_ids=set(member_ids if present is None else present), conflicted_ids=set(conflicted),
        votes=dict(votes or {}),
    )


# --- Quorum -------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("members", "quorum", "needed"),
    [
        (5, 50, 3),    # 2.5 rounds up
        (4, 50, 2),    # exact
        (4, 60, 3),    # 2.4 rounds up
        (7, 51, 4),    # 3.57 rounds up
        (3, 100, 3),
        (6, 34, 3),    # 2.04 rounds up
        (10, 1, 1),    # 0.1 rounds up to one member
        (10, 70, 7),   # exact, no float drift above 7
    ],
)
def test_quorum_needed_rounds_up(members, quorum, needed):
    result = run(members=members, quorum=quorum, votes={})
    assert result.quorum_needed == needed


def test_quorum_reached_with_exactly_the_needed_number_present():
    result = run(members=5, present={1, 2, 3}, votes={1: "approve", 2: "approve", 3: "reject"})
    assert result.quorum_needed == 3
    assert result.voters == {1, 2, 3}
    assert result.quorum_met is True
    assert result.proposal == "approve"


def test_quorum_missed_one_member_short():
    result = run(members=5, present={1, 2}, votes={1: "approve", 2: "approve"})
    assert result.quorum_needed == 3
    assert result.quorum_met is False
    assert result.proposal == "no_quorum"
    # The tally still shows what was cast by present members.
    assert result.counts["approve"] == 2


def test_quorum_counts_presence_not_votes_cast():
    # Three present (quorum 3 of 5), only one voted: quorum met, 1 of 1 cast is a majority.
    result = run(members=5, present={1, 2, 3}, votes={1: "reject"})
    assert result.quorum_met is True
    assert result.votes_cast == 1
    assert result.proposal == "reject"


def test_nobody_present_is_no_quorum():
    result = run(members=3, present=set(), votes={})
    assert result.quorum_needed == 2
    assert result.voters == set()
    assert result.proposal == "no_quorum"


def test_everybody_recused_is_no_quorum_not_a_division_by_zero():
    result = run(members=2, conflicted={1, 2}, votes={1: "approve"})
    assert result.quorum_needed == 0
    assert result.quorum_met is False
    assert result.proposal == "no_quorum"
    assert result.votes_cast == 0


# --- Recusal ------------------------------------------------------------------------

def test_recusal_lowers_the_quorum_base():
    # 5 members, 60 %: 3 needed. Two recused: base 3, 60 % of 3 = 1.8 → 2 needed.
    plain = run(members=5, quorum=60, present={1, 2}, votes={1: "approve", 2: "approve"})
    assert (plain.quorum_needed, plain.proposal) == (3, "no_quorum")
    recused = run(members=5, quorum=60, present={1, 2}, conflicted={4, 5},
                  votes={1: "approve", 2: "approve"})
    assert recused.quorum_needed == 2
    assert recused.recused == {4, 5}
    assert recused.proposal == "approve"


def test_a_recused_present_member_does_not_count_toward_quorum():
    # 4 members, 50 %: base 3 after recusing 3, needed ceil(1.5) = 2. Present: 1 and the
    # recused 3: only one voter, quorum missed.
    result = run(members=4, present={1, 3}, conflicted={3}, votes={1: "approve", 3: "approve"})
    assert result.quorum_needed == 2
    assert result.voters == {1}
    assert result.quorum_met is False
    assert result.proposal == "no_quorum"


def test_a_recused_members_vote_is_not_counted():
    result = run(members=3, conflicted={3}, votes={1: "approve", 2: "reject", 3: "reject"})
    assert result.voters == {1, 2}
    assert dict(result.counts) == {"approve": 1, "reject": 1}
    assert result.proposal == "tie"


def test_conflicts_of_non_members_change_nothing():
    result = run(members=3, conflicted={99}, votes={1: "approve", 2: "approve"})
    assert result.recused == set()
    assert result.quorum_needed == 2
    assert result.proposal == "approve"


def test_as_dict_reports_the_recusals():
    result = run(members=5, present={1, 2, 3, 4}, conflicted={4},
                 votes={1: "approve", 2: "approve", 3: "revise", 4: "reject"})
    assert result.as_dict() == {
        "members": 5, "recused": 1, "voters": 3, "quorum_needed": 2, "quorum_met": True,
        "approve": 2, "revise": 1, "reject": 0, "proposal": "approve",
    }


# --- Majorities and ties ---------------------------------------------------------------

def test_two_way_tie():
    result = run(members=4, votes={1: "approve", 2: "approve", 3: "reject", 4: "reject"})
    assert result.proposal == "tie"


def test_three_way_tie():
    result = run(members=3, votes={1: "approve", 2: "revise", 3: "reject"})
    assert result.proposal == "tie"


def test_tie_at_the_top_with_a_smaller_third_choice():
    result = run(members=5, votes={1: "approve", 2: "approve", 3: "revise", 4: "revise", 5: "reject"})
    assert result.proposal == "tie"


def test_plurality_without_majority_of_votes_cast():
    # 2 approve, 1 revise, 1 reject: 2 of 4 is not more than half.
    result = run(members=4, votes={1: "approve", 2: "approve", 3: "revise", 4: "reject"})
    assert result.proposal == "no_majority"


def test_simple_majority_of_votes_cast():
    result = run(members=5, votes={1: "revise", 2: "revise", 3: "approve"})
    assert result.proposal == "revise"


def test_majority_of_votes_cast_vs_members_present():
    # 5 present, 3 voted: 2 approve, 1 reject. 2 of 3 cast is a majority; 2 of 5 present is not.
    votes = {1: "approve", 2: "approve", 3: "reject"}
    assert run(members=5, votes=votes, majority=VOTES_CAST).proposal == "approve"
    assert run(members=5, votes=votes, majority=MEMBERS_PRESENT).proposal == "no_majority"


def test_members_present_majority_reached():
    votes = {1: "approve", 2: "approve", 3: "approve", 4: "reject"}
    assert run(members=5, votes=votes, majority=MEMBERS_PRESENT).proposal == "approve"


def test_members_present_excludes_recused_from_the_denominator():
    # 5 present, 2 recused: 3 voters; 2 approve of 3 is a majority of present non-recused.
    result = run(members=5, conflicted={4, 5}, votes={1: "approve", 2: "approve", 4: "reject", 5: "reject"},
                 majority=MEMBERS_PRESENT)
    assert result.voters == {1, 2, 3}
    assert result.proposal == "approve"


def test_quorum_met_but_no_votes_is_no_majority():
    assert run(members=3, votes={}).proposal == "no_majority"


# --- Absent members and strangers ------------------------------------------------------

def test_votes_of_absent_members_are_not_counted():
    result = run(members=5, present={1, 2, 3}, votes={1: "approve", 2: "reject", 3: "reject",
                                                       4: "approve", 5: "approve"})
    assert dict(result.counts) == {"approve": 1, "reject": 2}
    assert result.votes_cast == 3
    assert result.proposal == "reject"


def test_votes_of_non_members_are_not_counted_even_if_present():
    member_ids = {1, 2, 3}
    result = tally(program=rule(), member_ids=member_ids, present_ids={1, 2, 3, 42}, conflicted_ids=set(),
                   votes={1: "approve", 2: "reject", 42: "reject"})
    assert result.voters == {1, 2, 3}
    assert dict(result.counts) == {"approve": 1, "reject": 1}
    assert result.proposal == "tie"
