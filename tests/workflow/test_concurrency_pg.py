"""Two real PostgreSQL connections racing on the same rows (DESIGN.md §4, §7).

Each test starts two threads, each with its own database connection, lines them up on
a barrier and lets both call a service at once. Writing the audit entry is slowed
down, so the first writer still holds its row locks when the second one arrives: the
second must wait for the lock and then see the first one's result, never act on the
state both read before.

Marked ``postgres``: skipped on SQLite, required in CI. The data is really committed
(transactional database), so the role groups, communes and sectors that data
migrations create, and that the flush ending every transactional test removes, are put
back first. (``serialized_rollback`` cannot do it: it reloads rows with UPDATEs, which
the ledger's append-only triggers refuse on signing keys.)
"""

import dataclasses
from decimal import Decimal

import pytest

from approvals import services as committee
from approvals.models import AgendaItem
from core.roles import Role
from demo.scenarios import decide_in_session, plan_session
from disbursements.selectors import committed_amount
from followup import services as followup_services
from ledger.models import AuditEntry
from tests._concurrency import race  # noqa: F401 (fixture)
from workflow import services
from workflow.models import GrantProject, Program

REASON = "Motif consigné au dossier."
LOSING_CODES = {"transition_not_allowed", "concurrent_update"}

pytestmark = [
    pytest.mark.postgres,
    # Explicit here (not only added by conftest at collection) so that pytest-django
    # orders these tests after the ones that roll back.
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("reference_data"),
]


def _one_winner(outcomes):
    assert outcomes.count("ok") == 1, outcomes
    (loser,) = [o for o in outcomes if o != "ok"]
    assert loser in LOSING_CODES, outcomes
    return outcomes.index("ok")


def _trail(project):
    return list(AuditEntry.objects.for_entity(project).order_by("seq").values_list("seq", "transition"))


@pytest.fixture
def second(make_user):
    """A second holder of each role, so two different people race."""
    return {
        "officer": make_user(Role.PROGRAM_OFFICER, username="officer-2"),
        "chair": make_user(Role.COMMITTEE_CHAIR, Role.COMMITTEE_MEMBER, username="chair-2"),
        "agent": make_user(Role.ASSOCIATION_AGENT, username="agent-2"),
    }


def test_two_officers_screening_the_same_file(make_project, cast, second, slow_audit):
    project = make_project("submitted")
    before = _trail(project)

    outcomes = race(
        lambda: services.project_screen(project_id=project.pk, actor=cast.officer),
        lambda: services.project_screen(project_id=project.pk, actor=second["officer"]),
    )

    winner = _one_winner(outcomes)
    assert GrantProject.objects.get(pk=project.pk).state == "eligible"
    trail = _trail(project)
    assert trail == before + [(len(before) + 1, "screen_ok")]
    entry = AuditEntry.objects.for_entity(project).get(seq=len(before) + 1)
    assert entry.actor_id == (cast.officer, second["officer"])[winner].pk


def _onto_a_new_agenda(pid, officer, cast):
    """An officer plans a session and puts the file on its agenda (DESIGN.md §3: the only
    way to schedule it)."""
    session = plan_session(GrantProject.objects.get(pk=pid).program, dataclasses.replace(cast, officer=officer))
    return committee.session_add_item(session_id=session.pk, project_id=pid, actor=officer)


RACES = {
    # name: (source state, first call, second call, {transition the winner's entry may carry})
    # (A decision races only as sessions closing: tests/approvals/test_committee_concurrency_pg.py and
    # the envelope races below. One file is on one session's agenda at a time.)
    "schedule-on-two-agendas": (
        "eligible",
        lambda pid, cast, second: _onto_a_new_agenda(pid, cast.officer, cast),
        lambda pid, cast, second: _onto_a_new_agenda(pid, second["officer"], cast),
        {"schedule": "in_committee"},
    ),
    "withdraw-vs-withdraw": (
        "eligible",
        lambda pid, cast, second: services.project_withdraw(project_id=pid, actor=cast.agent, reason=REASON),
        lambda pid, cast, second: services.project_withdraw(
            project_id=pid, actor=second["officer"], reason=REASON),
        {"withdraw": "withdrawn"},
    ),
    "suspend-vs-suspend": (
        "approved",
        lambda pid, cast, second: services.project_suspend(
            project_id=pid, actor=cast.officer, reason=REASON),
        lambda pid, cast, second: services.project_suspend(
            project_id=pid, actor=second["officer"], reason=REASON),
        {"suspend": "suspended"},
    ),
    "launch-vs-launch": (
        "equipped",
        lambda pid, cast, second: followup_services.project_launch(project_id=pid, actor=cast.mentor),
        lambda pid, cast, second: followup_services.project_launch(project_id=pid, actor=second["officer"]),
        {"launch": "launched"},
    ),
}


@pytest.mark.parametrize("name", list(RACES))
def test_two_people_moving_the_same_file_at_once(name, make_project, cast, second, slow_audit):
    source, first_call, second_call, targets = RACES[name]
    project = make_project(source)
    before = _trail(project)

    outcomes = race(
        lambda: first_call(project.pk, cast, second),
        lambda: second_call(project.pk, cast, second),
    )

    _one_winner(outcomes)
    trail = _trail(project)
    assert trail[: len(before)] == before
    assert len(trail) == len(before) + 1, trail
    (seq, transition) = trail[-1]
    assert seq == len(before) + 1
    assert transition in targets
    assert GrantProject.objects.get(pk=project.pk).state == targets[transition]
    if transition == "schedule":  # on one agenda only
        assert AgendaItem.objects.filter(project=project, removed=False).count() == 1


def test_two_chairs_approving_against_an_envelope_with_room_for_one(make_project, cast, second, slow_audit):
    program = Program.objects.create(
        code="tight", name="Enveloppe serrée", year=2025,
        envelope=Decimal("100000.00"), project_ceiling=Decimal("60000.00"),
    )
    one = make_project("in_committee", program=program)  # each requests 60,000.00
    two = make_project("eligible", program=program)
    other_cast = dataclasses.replace(cast, chair=second["chair"])  # another committee, its own chair
    plan_session(program, other_cast, [two.pk])
    sessions = [decide_in_session(one.pk, cast, "approve", "60000.00", close=False),
                decide_in_session(two.pk, other_cast, "approve", "60000.00", close=False)]

    outcomes = race(
        lambda: committee.session_close(session_id=sessions[0].pk, actor=cast.chair),
        lambda: committee.session_close(session_id=sessions[1].pk, actor=second["chair"]),
    )

    assert sorted(outcomes) == ["budget_exceeded", "ok"], outcomes
    winner, loser = (one, two) if outcomes[0] == "ok" else (two, one)
    assert GrantProject.objects.get(pk=winner.pk).state == "approved"
    loser = GrantProject.objects.get(pk=loser.pk)
    assert (loser.state, loser.approved_amount) == ("in_committee", None)
    assert committed_amount(program) == Decimal("60000.00") <= program.envelope
    assert AuditEntry.objects.filter(transition="decide_approve").count() == 1


def test_many_chairs_approving_at_once_never_over_commit(make_project, make_user, cast, slow_audit):
    program = Program.objects.create(
        code="crowd", name="Appel très demandé", year=2025,
        envelope=Decimal("100000.00"), project_ceiling=Decimal("30000.00"),
    )
    projects = [
        make_project("eligible", program=program, requested_amount="30000.00", own_contribution="15000.00")
        for _ in range(5)
    ]
    chairs = [make_user(Role.COMMITTEE_CHAIR, username=f"chair-{i}") for i in range(5)]
    sessions = []
    for project, chair in zip(projects, chairs, strict=True):  # five committees, one session each
        chair_cast = dataclasses.replace(cast, chair=chair)
        plan_session(program, chair_cast, [project.pk])
        sessions.append(decide_in_session(project.pk, chair_cast, "approve", "30000.00", close=False))

    outcomes = race(*[
        (lambda s=s, c=c: committee.session_close(session_id=s.pk, actor=c))
        for s, c in zip(sessions, chairs, strict=True)
    ])

    assert sorted(outcomes) == ["budget_exceeded", "budget_exceeded", "ok", "ok", "ok"], outcomes
    assert committed_amount(program) == Decimal("90000.00")
    assert committed_amount(program) <= program.envelope
