"""Reads of committee review."""

from approvals.models import AgendaItem, Attendance, CommitteeMember, InterestDeclaration, Vote
from approvals.tally import ItemTally, tally


def member_ids(committee) -> set:
    return set(CommitteeMember.objects.filter(committee=committee, is_active=True).values_list("user_id", flat=True))


def present_ids(session) -> set:
    return set(Attendance.objects.filter(session=session, present=True).values_list("user_id", flat=True))


def item_tally(item: AgendaItem, *, members=None, present=None) -> ItemTally:
    """The rule applied to ``item`` as the votes stand now."""
    session = item.session
    conflicted = set(
        InterestDeclaration.objects.filter(item=item, has_conflict=True).values_list("user_id", flat=True)
    )
    votes = dict(Vote.objects.filter(item=item).values_list("user_id", "choice"))
    return tally(
        program=session.committee.program,
        member_ids=members if members is not None else member_ids(session.committee),
        present_ids=present if present is not None else present_ids(session),
        conflicted_ids=conflicted, votes=votes,
    )


def is_recused(item: AgendaItem, user) -> bool:
    return InterestDeclaration.objects.filter(item=item, user=user, has_conflict=True).exists()


def items_the_chair_is_recused_from(items, committee_id) -> set:
    """The ids of ``items`` on which the committee's (active) chair declared a conflict."""
    return set(
        InterestDeclaration.objects.filter(
            item__in=items, has_conflict=True, user__committee_seats__committee_id=committee_id,
            user__committee_seats__role=CommitteeMember.Role.CHAIR, user__committee_seats__is_active=True,
        ).values_list("item_id", flat=True)
    )


def membership(committee, user) -> CommitteeMember | None:
    return CommitteeMember.objects.filter(committee=committee, user=user, is_active=True).first()
