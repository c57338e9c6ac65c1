"""Reads of committee review.

Who sits on a committee is read on a session's day (``CommitteeSession.day``): a seat
counts for the session — attendance, quorum, votes, the chair's acts — only if it is
held that day (``CommitteeMember.active_from`` / ``active_to``).
"""

from django.contrib.auth import get_user_model

from approvals.models import AgendaItem, Attendance, CommitteeMember, InterestDeclaration, Vote, seated_on_q
from approvals.tally import ItemTally, tally
from core.roles import Role


def session_seats(session):
    """The seats of the session's committee held on the session's day."""
    return CommitteeMember.objects.filter(committee_id=session.committee_id).seated_on(session.day)


def member_ids(session) -> set:
    return set(session_seats(session).values_list("user_id", flat=True))


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
        member_ids=members if members is not None else member_ids(session),
        present_ids=present if present is not None else present_ids(session),
        conflicted_ids=conflicted, votes=votes,
    )


def session_tallies(session, items, *, members=None, present=None) -> dict[int, ItemTally]:
    """{item id: the rule applied to it as the votes stand now} for ``items`` of
    ``session``: what ``item_tally`` gives for each, read in two queries (the conflicts
    and the votes of all of them) whatever the length of the agenda."""
    ids = [item.pk for item in items]
    members = members if members is not None else member_ids(session)
    present = present if present is not None else present_ids(session)
    conflicted: dict[int, set] = {pk: set() for pk in ids}
    for item_id, user_id in (InterestDeclaration.objects.filter(item_id__in=ids, has_conflict=True)
                             .values_list("item_id", "user_id")):
        conflicted[item_id].add(user_id)
    votes: dict[int, dict] = {pk: {} for pk in ids}
    for item_id, user_id, choice in Vote.objects.filter(item_id__in=ids).values_list("item_id", "user_id", "choice"):
        votes[item_id][user_id] = choice
    program = session.committee.program
    return {
        pk: tally(program=program, member_ids=members, present_ids=present, conflicted_ids=conflicted[pk],
                  votes=votes[pk])
        for pk in ids
    }


def is_recused(item: AgendaItem, user) -> bool:
    return InterestDeclaration.objects.filter(item=item, user=user, has_conflict=True).exists()


def items_the_chair_is_recused_from(items, session) -> set:
    """The ids of ``items`` on which the chair of ``session`` (on its day) declared a
    conflict."""
    return set(
        InterestDeclaration.objects.filter(
            seated_on_q(session.day, "user__committee_seats__"),
            item__in=items, has_conflict=True, user__committee_seats__committee_id=session.committee_id,
            user__committee_seats__role=CommitteeMember.Role.CHAIR,
        ).values_list("item_id", flat=True)
    )


def membership(session, user) -> CommitteeMember | None:
    """``user``'s seat on the session's committee, if held on the session's day."""
    return session_seats(session).filter(user=user).first()


def seatable_users(*, chairs_only=False):
    """The active users who may be seated on a committee: those holding the committee
    member or chair role (the chair role only, for a chair's seat)."""
    roles = [Role.COMMITTEE_CHAIR] if chairs_only else [Role.COMMITTEE_MEMBER, Role.COMMITTEE_CHAIR]
    return (get_user_model().objects.filter(is_active=True, groups__name__in=[role.value for role in roles])
            .distinct().order_by("last_name", "first_name", "username"))


def committee_seats(committee):
    """Every seat of ``committee``, the chair's first, then by name: the committee's page."""
    return (CommitteeMember.objects.filter(committee=committee).select_related("user")
            .order_by("-is_active", "-role", "user__last_name", "user__first_name", "user__username"))
