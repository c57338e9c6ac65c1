"""Reads of committee review."""

from .models import AgendaItem, Attendance, CommitteeMember, InterestDeclaration, Vote
from .tally import ItemTally, tally


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


def membership(committee, user) -> CommitteeMember | None:
    return CommitteeMember.objects.filter(committee=committee, user=user, is_active=True).first()
