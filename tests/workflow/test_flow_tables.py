"""The state × step and role × step tables of the flows (docs/workflow.md).

Role × step: which role's inbox each step of each flow reaches, written out literally
below from docs/workflow.md, and checked against the permission each step asks for and
the role table (``core.roles.ROLE_PERMISSIONS``) — so a step no role can take, or one
that reaches a role the design does not name, fails here. The role × transition table
of the file (tests/core/test_permissions.py) says the services agree.

State × step: every transition the lifecycle table allows leaves the file's flow on the
step of its target state (``OPEN_STEPS_OF_STATE``), whatever made the transition —
checked with each allowed cell of tests/workflow/test_lifecycle_table.py.
"""

import pytest
from django.contrib.auth.models import Group

from approvals.flows import SessionFlow
from core.roles import ROLE_PERMISSIONS, Role
from disbursements.flows import DisbursementFlow, PurchaseOrderFlow
from followup.flows import VisitFlow
from training.flows import TrainingSessionFlow
from workflow.engine import Step, registered_flows
from workflow.flows import GrantFlow

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
