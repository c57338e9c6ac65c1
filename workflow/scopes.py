"""The files an agent or a mentor works on (``core.scopes``), registered at start-up.

An association agent works on the files in their charge — the ones they created, until
a program officer reassigns one (``project_assign_agent``) — and a mentor on the files
they follow (``GrantProject.mentor``); on a file no mentor follows yet, a mentor takes
only the equipment's steps and the launch (``BEFORE_A_MENTOR``). Every other role that acts on files acts
program-wide. The apps above register their own models' limits; those tied to a file
(orders, disbursements, visits) ask ``on_file``.
"""

from core import scopes
from core.roles import Role

# What a mentor does for a file before anyone follows it: the equipment's plan and
# receipt, and its launch, by which the mentor who launches it comes to follow it
# (followup.services.project_launch).
BEFORE_A_MENTOR = frozenset({
    "disbursements.plan_equipment", "disbursements.receive_purchaseorder", "disbursements.confirm_receipt",
    "workflow.launch_project",
})


def agents_file(user, project, perm=None) -> bool:
    return project.agent_in_charge_id == user.pk


def mentors_file(user, project, perm=None) -> bool:
    if project.mentor_id is None:
        return perm in BEFORE_A_MENTOR
    return project.mentor_id == user.pk


FILE_LIMITS = {Role.ASSOCIATION_AGENT: agents_file, Role.MENTOR: mentors_file}


def on_file(get_project):
    """The file's limits for an object tied to a file (``get_project(obj)``)."""
    return {role: (lambda user, obj, perm, rule=rule: rule(user, get_project(obj), perm))
            for role, rule in FILE_LIMITS.items()}


def register():
    scopes.register("workflow.grantproject", limits=FILE_LIMITS, message=scopes.NOT_YOUR_FILE, code="not_your_file")
