"""The committee's rule, applied to one agenda item: quorum, majority, proposal.

Quorum and majority are the program's configuration (its committee's internal rules),
never constants. A member who declared a conflict on the item is recused: they do not
count toward its quorum and their vote, if any, is not counted.
"""

import math
from collections import Counter
from dataclasses import dataclass, field

from django.utils.translation import gettext_lazy as _

from workflow.models import Program

APPROVE, REVISE, REJECT = "approve", "revise", "reject"
NO_QUORUM, TIE, NO_MAJORITY = "no_quorum", "tie", "no_majority"
PROPOSAL_LABELS = {
    APPROVE: _("approve"), REVISE: _("request revision"), REJECT: _("reject"),
    NO_QUORUM: _("no quorum"), TIE: _("tie"), NO_MAJORITY: _("no majority"),
}


@dataclass
class ItemTally:
    members: int  # active members of the committee
    recused: set = field(default_factory=set)
    voters: set = field(default_factory=set)  # present and not recused
    quorum_needed: int = 0
    counts: Counter = field(default_factory=Counter)
    proposal: str = NO_QUORUM

    @property
    def quorum_met(self) -> bool:
        return self.quorum_needed > 0 and len(self.voters) >= self.quorum_needed

    @property
    def votes_cast(self) -> int:
        return sum(self.counts.values())

    def as_dict(self) -> dict:
        return {
            "members": self.members, "recused": len(self.recused), "voters": len(self.voters),
            "quorum_needed": self.quorum_needed, "quorum_met": self.quorum_met,
            "approve": self.counts[APPROVE], "revise": self.counts[REVISE], "reject": self.counts[REJECT],
            "proposal": self.proposal,
        }


def tally(*, program: Program, member_ids: set, present_ids: set, conflicted_ids: set,
          votes: dict) -> ItemTally:
    """``votes`` maps a member id to their choice. Returns the tally and the proposal."""
    recused = member_ids & conflicted_ids
    base = len(member_ids - recused)
    result = ItemTally(members=len(member_ids), recused=recused)
    result.voters = (present_ids & member_ids) - recused
    result.quorum_needed = math.ceil(base * program.quorum_percent / 100) if base else 0
    result.counts = Counter(choice for member, choice in votes.items() if member in result.voters)
    if not result.quorum_met:
        result.proposal = NO_QUORUM
        return result
    if program.majority_rule == Program.MajorityRule.MEMBERS_PRESENT:
        denominator = len(result.voters)
    else:
        denominator = result.votes_cast
    ranked = result.counts.most_common()
    if not ranked:
        result.proposal = NO_MAJORITY
    elif len(ranked) > 1 and ranked[0][1] == ranked[1][1]:
        result.proposal = TIE
    elif ranked[0][1] * 2 > denominator:
        result.proposal = ranked[0][0]
    else:
        result.proposal = NO_MAJORITY
    return result
