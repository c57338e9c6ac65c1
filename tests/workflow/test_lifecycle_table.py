"""The full state × transition table of the project lifecycle (DESIGN.md §3).

For every state, reached through the services, and every transition service: a move
the table allows lands in the right state with exactly one new audit entry; every
other move raises ``transition_not_allowed`` and changes nothing, neither the project
row nor the ledger.

The expected table is written out literally below from DESIGN.md §3, so a change to
the model's transitions that the design does not make shows up here.

The committee's moves are made the only way DESIGN.md §3 allows: ``schedule`` by putting
the file on a session's agenda, ``defer`` by taking it off, ``decide_*`` by the chair
closing the session that confirmed the decision. Refusals by state are the services'
own, called directly (a file that is not in committee has no session to decide it).
"""

import dataclasses
import itertools
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from approvals import services as committee
from approvals.models import AgendaItem
from core.exceptions import TamkeenError
from core.roles import Role
from demo.scenarios import (
    Cast,
    attach_required_documents,
    decide_in_session,
    plan_session,
    receive_equipment,
    report_followup,
)
from disbursements import services as funding
from disbursements.services import envelope_decommit
from followup import services as followup_services
from ledger.models import AuditEntry
from tests._scopes import another_agent, in_charge
from tests._uploads import pdf_bytes
from training import services as training_services
from workflow import services
from workflow.flows import open_steps, steps_match_state
from workflow.models import GrantProject, Program, ProjectState

REASON = "Motif consigné au dossier."
_uploads = itertools.count()

# Every transition service, called the way a view would call it. "screen_ok" and
# "screen_fail" are the two outcomes of the one screening service.
CALLS = {
    "submit": lambda pid, actor: services.project_submit(project_id=pid, actor=actor),
    "return_docs": lambda pid, actor: services.project_return_docs(
        project_id=pid, actor=actor, reason=REASON
    ),
    "screen_ok": lambda pid, actor: services.project_screen(project_id=pid, actor=actor),
    "screen_fail": lambda pid, actor: services.project_screen(
        project_id=pid, actor=actor, failures=["The workshop address does not exist."]
    ),
    "schedule": lambda pid, actor: services.project_schedule(project_id=pid, actor=actor),
    "defer": lambda pid, actor: services.project_defer(project_id=pid, actor=actor, reason=REASON),
    "decide_approve": lambda pid, actor: services.project_decide(project_id=pid, actor=actor, outcome="approve"),
    "decide_revise": lambda pid, actor: services.project_decide(project_id=pid, actor=actor, outcome="revise"),
    "decide_reject": lambda pid, actor: services.project_decide(project_id=pid, actor=actor, outcome="reject"),
    "resubmit": lambda pid, actor: services.project_resubmit(project_id=pid, actor=actor),
    "enrol": lambda pid, actor: services.project_enrol(project_id=pid, actor=actor),
    "complete_training": lambda pid, actor: training_services.project_complete_training(
        project_id=pid, actor=actor
    ),
    "open_funding": lambda pid, actor: services.project_open_funding(project_id=pid, actor=actor),
    "equipment_received": lambda pid, actor: funding.project_confirm_equipment(
        project_id=pid, actor=actor
    ),
    "launch": lambda pid, actor: followup_services.project_launch(project_id=pid, actor=actor),
    "close": lambda pid, actor: followup_services.project_close(project_id=pid, actor=actor, outcome="success"),
    "withdraw": lambda pid, actor: services.project_withdraw(project_id=pid, actor=actor, reason=REASON),
    "suspend": lambda pid, actor: services.project_suspend(project_id=pid, actor=actor, reason=REASON),
    "resume": lambda pid, actor: services.project_resume(project_id=pid, actor=actor),
    # Acts recorded on the file's chain that keep its state.
    "give_back": lambda pid, actor: envelope_decommit(project_id=pid, actor=actor, reason=REASON),
    "edit": lambda pid, actor: services.project_update(project_id=pid, actor=actor, title="Titre révisé"),
    "assign_agent": lambda pid, actor: services.project_assign_agent(
        project_id=pid, actor=actor, agent_id=another_agent(pid), reason=REASON),
    "attach_document": lambda pid, actor: services.document_attach(
        project_id=pid, actor=actor, doc_type="other",
        uploaded_file=SimpleUploadedFile("piece.pdf", pdf_bytes(f"piece {pid} {next(_uploads)}")),
    ),
}

STATES = [
    "draft", "submitted", "eligible", "ineligible", "in_committee", "approved",
    "revision_requested", "rejected", "in_training", "trained", "funding", "equipped",
    "launched", "closed", "withdrawn", "suspended",
]

# DESIGN.md §3, written out: state → {transition: target}. "assign_agent" (a program
# officer gives the file to another agent) keeps the state of every file still open. The suspended source project
# is suspended from draft (demo.scenarios), so resuming it returns to draft. "edit",
# "attach_document" and "give_back" record an act on the file's chain and keep its state.
ALLOWED = {
    "draft": {"assign_agent": "draft",
        "submit": "submitted", "withdraw": "withdrawn", "suspend": "suspended",
        "edit": "draft", "attach_document": "draft",
    },
    "submitted": {"assign_agent": "submitted",
        "return_docs": "draft", "screen_ok": "eligible", "screen_fail": "ineligible",
        "withdraw": "withdrawn", "suspend": "suspended", "attach_document": "submitted",
    },
    "eligible": {"assign_agent": "eligible",
        "schedule": "in_committee", "withdraw": "withdrawn", "suspend": "suspended",
        "attach_document": "eligible",
    },
    "ineligible": {},
    "in_committee": {"assign_agent": "in_committee",
        "defer": "eligible", "decide_approve": "approved", "decide_revise": "revision_requested",
        "decide_reject": "rejected", "withdraw": "withdrawn", "suspend": "suspended",
        "attach_document": "in_committee",
    },
    "approved": {"assign_agent": "approved",
        "enrol": "in_training", "withdraw": "withdrawn", "suspend": "suspended", "attach_document": "approved",
    },
    "revision_requested": {"assign_agent": "revision_requested",
        "resubmit": "submitted", "withdraw": "withdrawn", "suspend": "suspended",
        "edit": "revision_requested", "attach_document": "revision_requested",
    },
    "rejected": {},
    "in_training": {"assign_agent": "in_training",
        "complete_training": "trained", "withdraw": "withdrawn", "suspend": "suspended",
        "attach_document": "in_training",
    },
    "trained": {"assign_agent": "trained",
        "open_funding": "funding", "withdraw": "withdrawn", "suspend": "suspended", "attach_document": "trained",
    },
    "funding": {"assign_agent": "funding",
        "equipment_received": "equipped", "withdraw": "withdrawn", "suspend": "suspended",
        "attach_document": "funding",
    },
    "equipped": {"assign_agent": "equipped",
        "launch": "launched", "withdraw": "withdrawn", "suspend": "suspended", "attach_document": "equipped",
    },
    "launched": {"assign_agent": "launched",
        "close": "closed", "withdraw": "withdrawn", "suspend": "suspended", "attach_document": "launched",
    },
    "closed": {},
    "withdrawn": {"give_back": "withdrawn"},
    "suspended": {"assign_agent": "suspended", "resume": "draft", "withdraw": "withdrawn", "attach_document": "suspended"},
}

ALLOWED_CELLS = [(state, name) for state in STATES for name in ALLOWED[state]]


def _as_cast(actor):
    return Cast(agent=actor, officer=actor, chair=actor, finance=actor, mentor=actor)


def _take_off_agenda(pid, actor):
    item = AgendaItem.objects.get(project_id=pid, removed=False, session__state="planned")
    return committee.session_remove_item(session_id=item.session_id, item_id=item.pk, actor=actor, reason=REASON)


# How the committee's allowed moves are really made (the session's chair is ``actor``).
THROUGH_SESSIONS = {
    "schedule": lambda pid, actor: plan_session(GrantProject.objects.get(pk=pid).program, _as_cast(actor), [pid]),
    "defer": _take_off_agenda,
    "decide_approve": lambda pid, actor: decide_in_session(pid, _as_cast(actor), "approve", "50000.00"),
    "decide_revise": lambda pid, actor: decide_in_session(pid, _as_cast(actor), "revise", REASON),
    "decide_reject": lambda pid, actor: decide_in_session(pid, _as_cast(actor), "reject", REASON),
}


def test_the_table_covers_every_state_and_every_transition_of_the_model():
    assert set(STATES) == set(ProjectState.values)
    assert set(ALLOWED) == set(STATES)
    assert set(CALLS) == set(GrantProject.transition_names())


@pytest.fixture
def actor(make_user):
    """Holds every role that moves a project, but never submitted any of the files built
    below (make_project submits as the cast's agent), so separation of duties allows it
    to screen."""
    return make_user(
        Role.ASSOCIATION_AGENT, Role.PROGRAM_OFFICER, Role.COMMITTEE_CHAIR, Role.COMMITTEE_MEMBER,
        Role.FINANCE_OFFICER, Role.MENTOR, username="all-roles",
    )


@pytest.fixture
def cast(cast, actor):
    """The files' committee is chaired by ``actor``, so that it may close their sessions."""
    return dataclasses.replace(cast, chair=actor)


def _row(pk):
    return GrantProject.objects.filter(pk=pk).values().get()


def _audit(project):
    return list(AuditEntry.objects.for_entity(project).order_by("seq"))


@pytest.mark.parametrize("state", STATES)
def test_every_transition_the_table_forbids_is_refused_and_changes_nothing(state, make_project, actor):
    project = make_project(state)
    assert project.state == state
    before_row, before_audit = _row(project.pk), _audit(project)

    refused = {}
    for name, call in CALLS.items():
        if name in ALLOWED[state]:
            continue
        with pytest.raises(TamkeenError) as caught:
            call(project.pk, actor)
        refused[name] = caught.value.code
        assert _row(project.pk) == before_row, f"{name} from {state} changed the project row"
        assert _audit(project) == before_audit, f"{name} from {state} wrote an audit entry"

    assert refused == {name: "transition_not_allowed" for name in CALLS if name not in ALLOWED[state]}


@pytest.mark.parametrize(("state", "name"), ALLOWED_CELLS, ids=[f"{s}-{n}" for s, n in ALLOWED_CELLS])
def test_every_transition_the_table_allows_lands_in_its_target_with_one_audit_entry(
    state, name, make_project, actor, cast
):
    project = make_project(state)
    if name == "give_back":  # a withdrawn approval, whose commitment is still held
        project = make_project("approved")
        services.project_withdraw(project_id=project.pk, actor=actor, reason=REASON)
    if name in ("submit", "edit", "resubmit"):  # the agent's own file
        in_charge(project.pk, actor, cast.officer)
    if name == "submit":
        attach_required_documents(project, actor)
    if name == "equipment_received":
        receive_equipment(project.pk, cast)
    if name == "close":  # the follow-up plan must be finished first
        report_followup(project.pk, cast)
    before = _audit(project)

    THROUGH_SESSIONS.get(name, CALLS[name])(project.pk, actor)

    project = GrantProject.objects.get(pk=project.pk)
    assert project.state == ALLOWED[state][name]
    after = _audit(project)
    assert after[: len(before)] == before
    assert len(after) == len(before) + 1
    entry = after[-1]
    assert (entry.seq, entry.transition, entry.from_state, entry.to_state, entry.actor_id) == (
        len(before) + 1, name, state, ALLOWED[state][name], actor.pk,
    )
    # The state × step table of the grant flow: the file's open step is its new state's
    # (docs/workflow.md), whatever made the transition.
    assert steps_match_state(project), (project.state, open_steps(project))
    if name == "withdraw":
        assert open_steps(project) == ()


def test_approval_stores_the_decided_amount(make_project, actor):
    project = make_project("in_committee")
    THROUGH_SESSIONS["decide_approve"](project.pk, actor)
    project = GrantProject.objects.get(pk=project.pk)
    assert str(project.approved_amount) == "50000.00"
    assert AuditEntry.objects.for_entity(project).last().payload["amount"] == "50000.00"


def test_an_allowed_transition_whose_guard_fails_is_refused_and_changes_nothing(make_project, actor):
    small = Program.objects.create(
        code="table-small", name="Petit programme", year=2025,
        envelope=Decimal("100000.00"), project_ceiling=Decimal("60000.00"),
    )
    make_project("approved", program=small)  # 60,000.00 committed: 40,000.00 left
    in_committee = make_project("in_committee", program=small)  # 50,000.00 will be asked
    draft = make_project("draft")  # no documents yet

    for project, name, code in [
        (draft, "submit", "guard_failed"),
        (in_committee, "decide_approve", "budget_exceeded"),
    ]:
        before_row, before_audit = _row(project.pk), _audit(project)
        with pytest.raises(TamkeenError) as caught:
            THROUGH_SESSIONS.get(name, CALLS[name])(project.pk, actor)
        assert caught.value.code == code
        assert (_row(project.pk), _audit(project)) == (before_row, before_audit)
