"""Suspension remembers where a project was, resume returns it there, and a suspended
approval keeps its money committed (DESIGN.md §3, §7)."""

from decimal import Decimal

import pytest

from core.exceptions import TamkeenError
from demo.scenarios import decide_in_session, plan_session
from disbursements.selectors import committed_amount, free_balance
from disbursements.services import envelope_decommit
from ledger.models import AuditEntry
from workflow import services
from workflow.models import GrantProject, Program

REASON = "Vérification des pièces en cours."

# Every non-terminal state but suspended itself (DESIGN.md §3: "any non-terminal").
ACTIVE = [
    "draft", "submitted", "eligible", "in_committee", "approved", "revision_requested",
    "in_training", "trained", "funding", "equipped", "launched",
]
COMMITTED = ["approved", "in_training", "trained", "funding", "equipped", "launched"]


def _fresh(pk):
    return GrantProject.objects.get(pk=pk)


def _trail(project):
    return list(
        AuditEntry.objects.for_entity(project).order_by("seq")
        .values_list("seq", "transition", "from_state", "to_state")
    )


@pytest.mark.parametrize("state", ACTIVE)
def test_resume_returns_to_exactly_the_state_suspended_from(state, make_project, cast):
    project = make_project(state)
    before = _trail(project)
    n = len(before)

    services.project_suspend(project_id=project.pk, actor=cast.officer, reason=REASON)
    suspended = _fresh(project.pk)
    assert (suspended.state, suspended.state_before_suspension) == ("suspended", state)

    services.project_resume(project_id=project.pk, actor=cast.officer)
    resumed = _fresh(project.pk)
    assert (resumed.state, resumed.state_before_suspension) == (state, "")
    assert _trail(project) == before + [
        (n + 1, "suspend", state, "suspended"),
        (n + 2, "resume", "suspended", state),
    ]


def test_a_resumed_project_carries_on_with_its_lifecycle(make_project, cast):
    project = make_project("approved")
    services.project_suspend(project_id=project.pk, actor=cast.officer, reason=REASON)
    services.project_resume(project_id=project.pk, actor=cast.officer)
    services.project_enrol(project_id=project.pk, actor=cast.officer)
    assert _fresh(project.pk).state == "in_training"


def test_suspending_twice_remembers_the_latest_state(make_project, cast):
    project = make_project("eligible")
    services.project_suspend(project_id=project.pk, actor=cast.officer, reason=REASON)
    services.project_resume(project_id=project.pk, actor=cast.officer)
    plan_session(project.program, cast, [project.pk])  # on a session's agenda
    services.project_suspend(project_id=project.pk, actor=cast.officer, reason=REASON)
    services.project_resume(project_id=project.pk, actor=cast.officer)
    assert _fresh(project.pk).state == "in_committee"


@pytest.mark.parametrize("state", ["draft", "approved", "launched", "closed", "withdrawn", "rejected"])
def test_resume_when_not_suspended_is_refused(state, make_project, cast):
    project = make_project(state)
    before = (GrantProject.objects.filter(pk=project.pk).values().get(), _trail(project))
    with pytest.raises(TamkeenError) as caught:
        services.project_resume(project_id=project.pk, actor=cast.officer)
    assert caught.value.code == "transition_not_allowed"
    assert (GrantProject.objects.filter(pk=project.pk).values().get(), _trail(project)) == before


def test_a_suspended_project_cannot_be_suspended_again(make_project, cast):
    project = make_project("suspended")
    with pytest.raises(TamkeenError) as caught:
        services.project_suspend(project_id=project.pk, actor=cast.officer, reason=REASON)
    assert caught.value.code == "transition_not_allowed"
    assert _fresh(project.pk).state_before_suspension == "draft"


def test_while_suspended_only_resume_and_withdraw_move_the_project(make_project, cast):
    project = make_project("approved")
    services.project_suspend(project_id=project.pk, actor=cast.officer, reason=REASON)
    for call in (
        lambda: services.project_enrol(project_id=project.pk, actor=cast.officer),
        lambda: services.project_decide(project_id=project.pk, actor=cast.chair, outcome="reject"),
    ):
        with pytest.raises(TamkeenError) as caught:
            call()
        assert caught.value.code == "transition_not_allowed"
    assert _fresh(project.pk).state == "suspended"


def test_a_suspended_project_can_be_withdrawn_and_never_resumed(make_project, cast):
    project = make_project("in_training")
    services.project_suspend(project_id=project.pk, actor=cast.officer, reason=REASON)
    services.project_withdraw(project_id=project.pk, actor=cast.agent, reason="Départ à l'étranger.")

    assert _fresh(project.pk).state == "withdrawn"
    assert _trail(project)[-1][1:] == ("withdraw", "suspended", "withdrawn")
    with pytest.raises(TamkeenError) as caught:
        services.project_resume(project_id=project.pk, actor=cast.officer)
    assert caught.value.code == "transition_not_allowed"


@pytest.fixture
def small_program(db):
    return Program.objects.create(
        code="small-suspend", name="Petit programme", year=2025,
        envelope=Decimal("100000.00"), project_ceiling=Decimal("60000.00"),
    )


@pytest.mark.parametrize("state", COMMITTED)
def test_a_suspended_approval_stays_committed(state, make_project, small_program, cast):
    project = make_project(state, program=small_program, amount="45000.00")
    assert committed_amount(small_program) == Decimal("45000.00")

    services.project_suspend(project_id=project.pk, actor=cast.officer, reason=REASON)

    assert committed_amount(small_program) == Decimal("45000.00")
    assert free_balance(small_program) == Decimal("55000.00")


@pytest.mark.parametrize("state", ["draft", "eligible", "in_committee", "revision_requested"])
def test_a_suspended_file_without_approval_commits_nothing(state, make_project, small_program, cast):
    make_project("approved", program=small_program, amount="10000.00")
    project = make_project(state, program=small_program)
    services.project_suspend(project_id=project.pk, actor=cast.officer, reason=REASON)
    assert committed_amount(small_program) == Decimal("10000.00")


def test_a_suspended_approval_blocks_a_new_approval_that_would_overrun_the_envelope(
    make_project, small_program, cast
):
    held = make_project("approved", program=small_program)  # 60,000.00
    services.project_suspend(project_id=held.pk, actor=cast.officer, reason=REASON)
    other = make_project("in_committee", program=small_program, requested_amount="50000.00",
                         own_contribution="25000.00")

    with pytest.raises(TamkeenError) as caught:
        decide_in_session(other.pk, cast, "approve", "50000.00")  # the session's close refuses
    assert caught.value.code == "budget_exceeded"
    assert _fresh(other.pk).state == "in_committee"

    services.project_withdraw(project_id=held.pk, actor=cast.officer, reason="Abandon du projet.")
    # Withdrawn, the approval stays committed until a finance officer gives it back.
    assert committed_amount(small_program) == Decimal("60000.00")
    envelope_decommit(project_id=held.pk, actor=cast.finance, reason="Projet abandonné.")
    assert committed_amount(small_program) == Decimal("0.00")
    decide_in_session(other.pk, cast, "approve", "50000.00")  # the same session, closed this time
    assert committed_amount(small_program) == Decimal("50000.00")


def test_resuming_an_approval_does_not_commit_it_twice(make_project, small_program, cast):
    project = make_project("approved", program=small_program, amount="45000.00")
    services.project_suspend(project_id=project.pk, actor=cast.officer, reason=REASON)
    services.project_resume(project_id=project.pk, actor=cast.officer)
    assert committed_amount(small_program) == Decimal("45000.00")
