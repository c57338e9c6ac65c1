"""Who works on a file for the association: its agent in charge.

An agent works on the files they created; a program officer gives a file to another
agent (an agent who left, a heavy load). The change is signed on the file's chain
(``assign_agent``, with the agent before and after and the reason), and the file's
open steps waiting for the previous agent move to the new one.
"""

from django.contrib.auth import get_user_model
from django.utils.translation import gettext as _
from viewflow.workflow.models import Task

from core.exceptions import InvalidInput
from core.input import require_text
from core.roles import Role, roles_of
from core.transactions import service_transaction
from ledger.transitions import check_permission, check_transition
from workflow.engine import OPEN, processes_of
from workflow.locks import lock_project
from workflow.models import GrantProject

ASSIGN = "workflow.assign_agent"


def _agent(agent_id):
    User = get_user_model()
    try:
        user = User.objects.get(pk=int(agent_id), is_active=True)
    except (TypeError, ValueError, User.DoesNotExist):
        user = None
    if user is None or Role.ASSOCIATION_AGENT.value not in roles_of(user):
        raise InvalidInput(code="not_an_agent",
                           field_errors={"agent": [_("Choose an active user with the association agent role.")]})
    return user


@service_transaction
def project_assign_agent(*, project_id, actor, agent_id, reason) -> GrantProject:
    """Give the file to another association agent. Program officer. Raises
    ``not_an_agent``, ``same_agent``, ``TransitionNotAllowed`` on a closed file."""
    from workflow.flows import GrantFlow
    from workflow.services.lifecycle import transition_project

    check_permission(actor, ASSIGN)
    agent = _agent(agent_id)
    reason = require_text(reason, "reason", max_length=500)
    project = lock_project(project_id)
    check_transition(project, "assign_agent")  # a closed file keeps its agent
    previous = project.agent_in_charge_id
    if previous == agent.pk:
        raise InvalidInput(code="same_agent", field_errors={"agent": [_("This agent already works on the file.")]})
    project.assigned_agent = agent
    transition_project(project, actor, "assign_agent", fields=["assigned_agent"],
                       payload={"agent": agent.pk, "previous": previous, "reason": reason})
    Task.objects.filter(process__in=processes_of(GrantFlow, project), owner_id=previous,
                        status__in=OPEN).update(owner=agent)
    return project
