"""Shared helpers of the committee-review tests: a committee, a session with its agenda,
and the audit chains read back as (transition, from_state, to_state) tuples.

Everything goes through the approvals services (never ``state=``): a project's
``schedule`` and ``decide_*`` transitions require the agenda item (and, for a decision,
the closing session) they come from (DESIGN.md §3).
"""

from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from approvals import services as committee
from approvals.models import AgendaItem, CommitteeMember, CommitteeSession, Vote
from core.exceptions import TamkeenError
from core.roles import Role
from demo.scenarios import decide_in_session
from ledger.models import AuditEntry
from workflow import services
from workflow.models import GrantProject

PASSWORD = "pass-Tamkeen-2025"
FULL_SCORES = {"viability": 4, "impact": 5, "capacity": 3, "market": 4}
CRITERIA_AR = ["الجدوى الاقتصادية", "الأثر الاجتماعي", "قدرات حاملة المشروع", "السوق والمنافذ"]
AMOUNT = Decimal("60000.00")


@dataclass
class Board:
    """A committee: the chair (cast.chair) first, then plain members."""

    committee: object
    chair: object
    members: list
    officer: object
    everyone: list = field(default_factory=list)

    def __post_init__(self):
        self.everyone = [self.chair, *self.members]


def make_board(cast, program, make_user, *, n_members=4, name="Comité provincial") -> Board:
    """A committee of ``program``: the chair plus ``n_members`` members, default criteria."""
    committee.criteria_ensure_defaults(program)
    members = [make_user(Role.COMMITTEE_MEMBER) for _ in range(n_members)]
    board = committee.committee_create(
        actor=cast.officer, program=program, name=name,
        members=[(cast.chair, "chair"), *[(m, "member") for m in members]],
    )
    return Board(committee=board, chair=cast.chair, members=members, officer=cast.officer)


def plan_session(board, projects, *, title="Session de mars") -> tuple[CommitteeSession, list]:
    """A planned session with ``projects`` (eligible) on its agenda, in order."""
    session = committee.session_create(
        actor=board.officer, committee=board.committee, title=title,
        scheduled_for=timezone.now() + timedelta(days=3), location="Nador",
    )
    items = [committee.session_add_item(session_id=session.pk, project_id=p.pk, actor=board.officer)
             for p in projects]
    return session, items


def open_session(board, projects, *, present=None, title="Session de mars"):
    """Plan, record attendance (``present``: default everyone) and open."""
    session, items = plan_session(board, projects, title=title)
    present = board.everyone if present is None else present
    committee.session_record_attendance(session_id=session.pk, actor=board.officer,
                                        present_user_ids=[u.pk for u in present])
    committee.session_open(session_id=session.pk, actor=board.chair)
    return fresh_session(session), items


def declare_and_vote(item, user, choice, *, scores=None, comment=""):
    committee.item_declare_interest(item_id=item.pk, actor=user, has_conflict=False)
    return committee.item_vote(item_id=item.pk, actor=user, choice=choice,
                               scores=dict(FULL_SCORES if scores is None else scores), comment=comment)


def vote_all(item, voters_and_choices):
    """Each (user, choice): the user declares no conflict and votes ``choice``."""
    for user, choice in voters_and_choices:
        declare_and_vote(item, user, choice)


def refused(call, code):
    """Run ``call``, which must raise the coded error ``code``; return the error."""
    with pytest.raises(TamkeenError) as caught:
        call()
    assert caught.value.code == code, caught.value.as_dict()
    return caught.value


def fresh_session(session) -> CommitteeSession:
    return CommitteeSession.objects.get(pk=session.pk)


def fresh_item(item) -> AgendaItem:
    return AgendaItem.objects.get(pk=item.pk)


def fresh_project(project) -> GrantProject:
    return GrantProject.objects.get(pk=project.pk)


def chain(entity) -> list[tuple[str, str, str]]:
    return [(e.transition, e.from_state, e.to_state)
            for e in AuditEntry.objects.for_entity(entity).order_by("seq")]


def entries(entity) -> list:
    return list(AuditEntry.objects.for_entity(entity).order_by("seq"))


def chain_from(entity, transition) -> list[tuple[str, str, str]]:
    """The entity's chain from the last ``transition`` entry on."""
    full = chain(entity)
    start = max(i for i, (name, _f, _t) in enumerate(full) if name == transition)
    return full[start:]


def snapshot(session) -> dict:
    """Everything a refused call must leave as it was."""
    items = AgendaItem.objects.filter(session=session).order_by("pk")
    return {
        "audit_count": AuditEntry.objects.count(),
        "session": tuple(CommitteeSession.objects.filter(pk=session.pk)
                         .values_list("state", "opened_at", "closed_at").get()),
        "items": [tuple(i) for i in items.values_list(
            "pk", "removed", "outcome", "approved_amount", "conditions", "reason", "confirmed_by_id",
            "confirmed_at")],
        "votes": sorted((v.item_id, v.user_id, v.choice, tuple(sorted(v.scores.items())), v.comment,
                         v.updated_at) for v in Vote.objects.filter(item__session=session)),
        "projects": sorted(GrantProject.objects.filter(agenda_items__session=session)
                           .values_list("pk", "state", "approved_amount")),
    }


def item_of(project, *, states=("planned", "open")) -> AgendaItem:
    """The agenda item that holds ``project`` on a planned or open session."""
    return (AgendaItem.objects.select_related("session", "session__committee")
            .filter(project_id=getattr(project, "pk", project), removed=False, session__state__in=states)
            .latest("pk"))


def ready_to_close(project, cast, outcome, detail, *, voter) -> AgendaItem:
    """Take the session holding ``project`` (in committee, by ``demo.scenarios``) up to
    its close: ``voter`` joins the committee and is the only one present (the chair is
    absent, so the chair's seat can change hands without changing the tally), votes
    ``outcome``, and the chair confirms it with ``detail`` (the amount or the reason)."""
    item = item_of(project, states=("planned",))
    committee.committee_add_member(actor=cast.officer, committee=item.session.committee, user=voter)
    committee.session_record_attendance(session_id=item.session_id, actor=cast.officer,
                                        present_user_ids=[voter.pk])
    committee.session_open(session_id=item.session_id, actor=cast.chair)
    declare_and_vote(item, voter, outcome)
    given = {"amount": detail} if outcome == "approve" else {"reason": detail}
    committee.item_confirm_decision(item_id=item.pk, actor=cast.chair, **given)
    return fresh_item(item)


def seat_chair(committee_, user):
    """The chair's seat passes to ``user`` (test set-up: a new chair takes over the
    committee before the close; the tally is unchanged when the old chair was absent)."""
    CommitteeMember.objects.filter(committee=committee_, role=CommitteeMember.Role.CHAIR,
                                   is_active=True).update(user=user)


def close_as(project, user):
    """``user`` takes the chair's seat of the open session holding ``project`` and closes it."""
    item = item_of(project, states=("open",))
    seat_chair(item.session.committee, user)
    return committee.session_close(session_id=item.session_id, actor=user)


def held_by_no_session(project, cast) -> GrantProject:
    """A file in committee that no session holds any more: suspended while its session
    closed (the close skips it, recording its decision unapplied), then resumed. A direct
    ``defer`` is what brings such a file back to the eligible files."""
    services.project_suspend(project_id=project.pk, actor=cast.officer, reason="Documents under verification.")
    decide_in_session(project.pk, cast, "defer")
    services.project_resume(project_id=project.pk, actor=cast.officer)
    return fresh_project(project)
