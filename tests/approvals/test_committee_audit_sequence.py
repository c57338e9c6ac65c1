"""The exact audit sequence of a small committee session, from its creation to its close:
every entry of the session's chain (transition, states, actor, role, hash links), the
close's payload and the entries it writes on the files it decides.
"""


from approvals import services as committee
from approvals.models import SessionMinutes
from tests._committee_support import FULL_SCORES, chain_from, entries, make_board, plan_session, vote_all


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
