"""Every write of committee review. Each public function is one durable transaction."""

from approvals.services.committees import (
    committee_add_member,
    committee_create,
    committee_end_member,
    criteria_ensure_defaults,
)
from approvals.services.minutes import minutes_confirm
from approvals.services.sessions import (
    session_add_item,
    session_close,
    session_create,
    session_open,
    session_record_attendance,
    session_remove_item,
)
from approvals.services.voting import item_confirm_decision, item_declare_interest, item_tally, item_vote

__all__ = [
    "committee_add_member", "committee_create", "committee_end_member", "criteria_ensure_defaults", "item_confirm_decision",
    "item_declare_interest", "item_tally", "item_vote", "minutes_confirm", "session_add_item",
    "session_close", "session_create", "session_open", "session_record_attendance", "session_remove_item",
]
