"""The state × step and role × step tables of the flows (docs/workflow.md).

Role × step: which role's inbox each step of each flow reaches, written out literally
below from docs/workflow.md, and checked against the permission each step asks for and
the role table (``core.roles.ROLE_PERMISSIONS``) — so a step no role can take, or one
that reaches a role the design does not name, fails here. The role × transition table
of the file (tests/core/test_permissions.py) says the services agree.

State × step: every transition the lifecycle table allows leaves the file's flow on the
step of its target state (``OPEN_STEPS_OF_STATE``), whatever made the transition.
"""

import pytest
from django.contrib.auth.models import Group

from approvals.flows import SessionFlow
from core.roles import ROLE_PERMISSIONS, Role
from disbursements.flows import DisbursementFlow, PurchaseOrderFlow
from followup.flows import VisitFlow
from tests.workflow import test_lifecycle_table as lifecycle
from tests.workflow.test_lifecycle_table import ALLOWED_CELLS, CALLS, THROUGH_SESSIONS
from training.flows import TrainingSessionFlow
from workflow.engine import Step, registered_flows
from workflow.flows import GrantFlow, open_steps, steps_match_state
from workflow.models import GrantProject

# docs/workflow.md, literally: the roles whose inbox each step reaches (before any
# assignment to one person, and before separation of duties narrows it).
REACHES = {
    (GrantFlow, "screening"): {Role.PROGRAM_OFFICER},
    (GrantFlow, "resubmission"): {Role.ASSOCIATION_AGENT},
    (GrantFlow, "agenda"): {Role.PROGRAM_OFFICER},
    (GrantFlow, "enrolment"): {Role.PROGRAM_OFFICER},
    (GrantFlow, "training_signoff"): {Role.PROGRAM_OFFICER},
    (GrantFlow, "funding"): {Role.FINANCE_OFFICER},
    (GrantFlow, "procurement"): {Role.FINANCE_OFFICER},
    (GrantFlow, "equipment_check"): {Role.PROGRAM_OFFICER},
    (GrantFlow, "launch"): {Role.PROGRAM_OFFICER, Role.MENTOR},
    (GrantFlow, "closure"): {Role.PROGRAM_OFFICER},
    (SessionFlow, "preparation"): {Role.PROGRAM_OFFICER},
    (SessionFlow, "opening"): {Role.COMMITTEE_CHAIR},
    (SessionFlow, "ballot"): {Role.COMMITTEE_MEMBER, Role.COMMITTEE_CHAIR},
    (SessionFlow, "closing"): {Role.COMMITTEE_CHAIR},
    (SessionFlow, "minutes_confirmation"): {Role.COMMITTEE_MEMBER, Role.COMMITTEE_CHAIR},
    (PurchaseOrderFlow, "quotes"): {Role.FINANCE_OFFICER},
    (PurchaseOrderFlow, "issue"): {Role.FINANCE_OFFICER},
    (PurchaseOrderFlow, "delivery"): {Role.PROGRAM_OFFICER, Role.MENTOR},
    (PurchaseOrderFlow, "mentor_signature"): {Role.MENTOR},
    (PurchaseOrderFlow, "beneficiary_witness"): {Role.ASSOCIATION_AGENT},
    (PurchaseOrderFlow, "reception"): {Role.PROGRAM_OFFICER, Role.MENTOR},
    (DisbursementFlow, "authorization"): {Role.AUTHORIZING_OFFICER},
    (DisbursementFlow, "release"): {Role.TREASURER},
    (VisitFlow, "report"): {Role.MENTOR},
    (TrainingSessionFlow, "attendance"): {Role.TRAINER},
}


def steps():
    for flow_class in registered_flows():
        for node in flow_class.instance.nodes():
            if isinstance(node, Step):
                yield flow_class, node


def test_the_table_names_every_step_of_every_flow():
    assert {(flow_class, node.name) for flow_class, node in steps()} == set(REACHES)


@pytest.mark.parametrize(("flow_class", "name"), sorted(REACHES, key=lambda k: (k[0].__name__, k[1])),
                         ids=[f"{f.__name__}.{n}" for f, n in sorted(REACHES, key=lambda k: (k[0].__name__, k[1]))])
def test_each_step_reaches_exactly_the_roles_of_the_table(flow_class, name):
    permission = getattr(flow_class, name)._owner_permission
    reached = {role for role, perms in ROLE_PERMISSIONS.items() if permission in perms}
    assert reached == REACHES[(flow_class, name)], f"{flow_class.__name__}.{name} asks for {permission}"


@pytest.mark.django_db
def test_the_role_groups_in_the_database_hold_what_the_steps_ask(db):
    for (flow_class, name), roles in REACHES.items():
        app_label, codename = getattr(flow_class, name)._owner_permission.split(".")
        for role in roles:
            assert Group.objects.get(name=role.value).permissions.filter(
                content_type__app_label=app_label, codename=codename).exists(), (name, role)


# The lifecycle table's actor (every role that moves a file) and its committee chaired by him.
actor, cast = lifecycle.actor, lifecycle.cast

# The file's transitions that a person takes (the others keep the file where it is).
MOVES = [(state, name) for state, name in ALLOWED_CELLS if name not in ("attach_document", "edit", "give_back")]


@pytest.mark.parametrize(("state", "name"), MOVES, ids=[f"{s}-{n}" for s, n in MOVES])
def test_every_allowed_transition_leaves_the_flow_on_the_step_of_its_target_state(
    state, name, make_project, actor, cast
):
    from demo.scenarios import attach_required_documents, receive_equipment, report_followup

    project = make_project(state)
    if name == "submit":
        attach_required_documents(project, actor)
    if name == "equipment_received":
        receive_equipment(project.pk, cast)
    if name == "close":
        report_followup(project.pk, cast)

    THROUGH_SESSIONS.get(name, CALLS[name])(project.pk, actor)

    project = GrantProject.objects.get(pk=project.pk)
    assert steps_match_state(project), (project.state, open_steps(project))
    if name == "withdraw":
        assert open_steps(project) == ()
