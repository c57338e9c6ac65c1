"""The project's launch and close, seen from follow-up: the plan made at launch and what
closing a project does to it.

The plan is created inside the launch transaction (``project_launch`` calls
``create_followup_plan``): a launched project always has its plan, with no worker
needed, and a second call creates nothing (one plan per project, one visit per
(project, sequence)). Each visit's chain opens with ``create`` when the plan is made.
``project_close`` hands the plan's progress to the ``close`` guard
(``workflow.facts.FollowUpProgress``) and settles the visits left.
"""

from django.utils import timezone
from django.utils.translation import gettext as _

from core.exceptions import InvalidInput, TransitionNotAllowed
from core.input import clean_text, require_text
from core.roles import Role, role_for, roles_of
from core.transactions import service_transaction
from followup.models import EquipmentRecovery, FollowUpPlan, FollowUpVisit, VisitState
from followup.plan import due_dates, followup_progress
from followup.services.parsing import parse_recovery
from ledger.entries import HEAD_FIELDS, record_transition
from ledger.transitions import apply_transition, check_permission
from workflow.facts import FOLLOWUP
from workflow.locks import lock_project
from workflow.models import GrantProject, Outcome, ProjectState
from workflow.services import transition_project


def mentor_at_launch(project, actor) -> list[str]:
    """A project launched by a mentor, with no mentor yet, is followed by that mentor.
    Returns the fields to save with the launch."""
    if project.mentor_id is None and actor is not None and Role.MENTOR.value in roles_of(actor):
        project.mentor = actor
        return ["mentor"]
    return []


def create_followup_plan(project, actor) -> FollowUpPlan:
    """Create ``project``'s plan from its program's offsets, counted from today, with one
    audited visit per offset assigned to the project's mentor. Joins the caller's
    transaction, which holds the project row lock. Idempotent: an existing plan is
    returned as it is."""
    existing = FollowUpPlan.objects.filter(project_id=project.pk).first()
    if existing is not None:
        return existing
    offsets = sorted({int(m) for m in project.program.followup_offsets})
    plan = FollowUpPlan.objects.create(
        project=project, launched_on=timezone.localdate(), offsets=offsets, created_by=actor,
    )
    perm = "workflow.launch_project"
    role = role_for(actor, perm)
    for sequence, months, due_on in due_dates(plan.launched_on, offsets):
        visit = FollowUpVisit.objects.create(
            plan=plan, project=project, sequence=sequence, offset_months=months, due_on=due_on,
            mentor_id=project.mentor_id,
        )
        record_transition(
            entity=visit, transition="create", from_state="", to_state=visit.state, actor=actor, role=role,
            payload={"project": project.pk, "sequence": sequence, "months": months, "due_on": due_on,
                     "mentor": project.mentor_id},
        )
        visit.save(update_fields=list(HEAD_FIELDS))
    return plan


@service_transaction
def project_launch(*, project_id, actor, note="") -> GrantProject:
    """equipped → launched. Mentor or program officer. A mentor launching a project with
    no mentor becomes its mentor; the follow-up plan is made in the same transaction."""
    project = lock_project(project_id)
    fields = mentor_at_launch(project, actor)
    transition_project(project, actor, "launch", payload={"note": clean_text(note)}, fields=fields)
    create_followup_plan(project, actor)
    return project


@service_transaction
def followup_plan_create(*, project_id, actor) -> FollowUpPlan:
    """Create the follow-up plan of a launched project that has none (a project launched
    before plans existed). Program officer or mentor. Idempotent."""
    check_permission(actor, "workflow.launch_project")
    project = lock_project(project_id)
    if project.state != ProjectState.LAUNCHED:
        raise TransitionNotAllowed(_("A follow-up plan is made for a launched project."),
                                   params={"state": project.state})
    return create_followup_plan(project, actor)


@service_transaction
def project_close(*, project_id, actor, outcome, reason="", recovery=None) -> GrantProject:
    """launched → closed with an outcome (success, failed, abandoned). Program officer.
    Needs the follow-up plan finished, or an abandonment reason (``guard_failed``,
    ``followup_incomplete``). An abandonment can record the equipment recovered
    (``recovery={"items", "value", "note"}``); visits not yet made are cancelled."""
    if outcome not in Outcome.values:
        raise InvalidInput(field_errors={"outcome": [_("Choose success, failed or abandoned.")]})
    reason = clean_text(reason)
    if outcome == Outcome.ABANDONED:
        reason = require_text(reason, "reason")
    recovered = parse_recovery(outcome, recovery)
    project = lock_project(project_id)
    project.outcome, project.closure_reason = outcome, reason
    payload = {"outcome": outcome, "reason": reason}
    if recovered is not None:
        payload["recovery"] = recovered
    transition_project(project, actor, "close", payload=payload, fields=["outcome", "closure_reason"],
                       facts={FOLLOWUP: followup_progress(project)})
    close_followup(project, actor, outcome, recovered)
    return project


def close_followup(project, actor, outcome, recovery: dict | None) -> None:
    """After ``close`` (same transaction, project locked): cancel the visits that will
    not take place (an abandonment before the plan's end) and record the equipment
    recovered."""
    for visit in FollowUpVisit.objects.select_for_update().filter(project_id=project.pk,
                                                                  state=VisitState.PLANNED):
        apply_transition(visit, actor, "cancel", payload={"project": project.pk, "outcome": outcome})
    if recovery is not None:
        EquipmentRecovery.objects.create(
            project=project, items=recovery["items"], value=recovery["value"], note=recovery["note"],
            recorded_by=actor, recorded_at=timezone.now(),
        )
