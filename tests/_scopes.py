"""Giving a test's person charge of a file (core.scopes), through the services, so that
tests of what a *role* may do are not refused for *whose file* it is."""

from django.contrib.auth import get_user_model

from core.roles import Role, roles_of
from followup import services as followup_services
from workflow import services
from workflow.models import GrantProject
from workflow.models.project import ACTIVE_STATES, ProjectState

REASON = "Le dossier change de mains."


def in_charge(project_id, user, officer, *, agent=True, mentor=True):
    """Make ``user`` the file's agent in charge when they are an association agent, and
    its mentor when they are a mentor (what the file's state allows; no-op otherwise);
    ``agent=False`` or ``mentor=False`` leaves that part as it is."""
    project = GrantProject.objects.get(pk=project_id)
    held = roles_of(user)
    reassignable = project.state in (*ACTIVE_STATES, ProjectState.SUSPENDED)
    if agent and Role.ASSOCIATION_AGENT.value in held and project.agent_in_charge_id != user.pk and reassignable:
        services.project_assign_agent(project_id=project.pk, actor=officer, agent_id=user.pk, reason=REASON)
    if mentor and Role.MENTOR.value in held and project.mentor_id != user.pk and not project.is_terminal:
        followup_services.project_assign_mentor(project_id=project.pk, actor=officer, mentor_id=user.pk)
    user.__dict__.pop("_tamkeen_roles", None)
    return get_user_model().objects.get(pk=user.pk)


def another_agent(project_id):
    """An association agent who is not in charge of the file (made once per test)."""
    from django.contrib.auth.models import Group

    project = GrantProject.objects.get(pk=project_id)
    User = get_user_model()
    agent, created = User.objects.get_or_create(username="agent-relief", defaults={"first_name": "Siham"})
    if created:
        agent.groups.add(Group.objects.get(name=Role.ASSOCIATION_AGENT.value))
    if project.agent_in_charge_id == agent.pk:
        agent, created = User.objects.get_or_create(username="agent-relief-2")
        if created:
            agent.groups.add(Group.objects.get(name=Role.ASSOCIATION_AGENT.value))
    return agent.pk
