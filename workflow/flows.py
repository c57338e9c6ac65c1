"""viewflow orchestration of a grant project's human work (DESIGN.md §5).

django-fsm owns where a project *is* (``GrantProject.state``); this flow owns who
must do what *next*: each step that needs a person becomes a task in the right
role's inbox, each step driven by another part of the system (committee, training
enrolment, finance, purchase orders) is a waiting node. Nodes never set state; task
screens call the lifecycle services, and the process follows the project through
the ``project_transitioned`` signal, whatever screen, API call or task moved it.

The training sign-off, launch and closure screens call services that the training
and follow-up apps own (their guards read those apps' facts); workflow does not
import them: each app registers its service for the step in its ``AppConfig.ready``
(``workflow.task_services``).

Node and flow names are stored in the database (``viewflow_task.flow_task``):
renaming one is a data migration.
"""

import logging

from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.dispatch import receiver
from django.utils.translation import gettext_lazy as _
from viewflow import this
from viewflow.workflow import PROCESS, STATUS, flow, lock
from viewflow.workflow.managers import ProcessQuerySet
from viewflow.workflow.models import Process

from workflow.models import GrantProject, ProjectState
from workflow.services import project_transitioned
from workflow.views import tasks as task_views

logger = logging.getLogger(__name__)

S = ProjectState


# The closure task's inbox row says when the latest follow-up visit found the project at
# risk (the inbox attaches ``risk_labels`` to the page's projects in one query).
CLOSURE_SUMMARY = (
    "{% load i18n %}{{ process.project }}{% if process.project.risk_labels %} — "
    "{% translate 'At risk' %}: {{ process.project.risk_labels|join:', ' }}{% endif %}"
)


class GrantProcessQuerySet(ProcessQuerySet):
    def for_project(self, project_or_id):
        project_id = getattr(project_or_id, "pk", project_or_id)
        return self.filter(
            artifact_content_type=ContentType.objects.get_for_model(GrantProject),
            artifact_object_id=project_id,
        )


class GrantProcess(Process):
    """The viewflow process of one grant project; the project is its artifact."""

    objects = GrantProcessQuerySet.as_manager()

    class Meta:
        proxy = True
        verbose_name = _("grant process")
        verbose_name_plural = _("grant processes")
        # viewflow adds "manage" at class set-up; spelled out so the migration state
        # does not depend on import order.
        default_permissions = ("add", "change", "delete", "view", "manage")

    @property
    def project(self) -> GrantProject | None:
        if self.artifact_object_id is None:
            return None
        if getattr(self, "_project", None) is None:
            self._project = GrantProject.objects.select_related(
                "program", "beneficiary", "sector"
            ).get(pk=self.artifact_object_id)
        return self._project


def _outcome(activation) -> str:
    """The project state the previous step left, as that step recorded it.

    Gateways route on what the step did, not on the live state, which another
    transition may already have moved on by the time the gateway runs.
    """
    previous = activation.task.previous.order_by("-pk").first()
    return (previous.data or {}).get("state", "") if previous else ""


def _outcome_is(*states):
    def condition(activation):
        return _outcome(activation) in states

    return condition


class GrantFlow(flow.Flow):
    """Grant project

    One process per grant project, from its first submission to its closure. The
    program officer screens it, the committee (approvals app) decides, the officer
    enrols it and signs off training, finance opens funding, the purchase orders
    bring the equipment, a mentor or officer launches it and the officer closes it.
    A file returned for documents or sent back for revision waits for its
    resubmission and is screened again, in the same process.
    """

    process_title = _("Grant project")
    process_class = GrantProcess
    lock_impl = lock.select_for_update_lock
    process_summary_template = "{{ process.project }}"

    start = flow.StartHandle(this.start_process).Next(this.screening)

    screening = (
        flow.View(task_views.ScreeningView.as_view())
        .Annotation(title=_("Eligibility screening"), summary_template="{{ process.project }}")
        .Permission("workflow.screen_project")
        .Next(this.screening_outcome)
    )
    screening_outcome = (
        flow.Switch()
        .Annotation(title=_("Screening outcome"))
        .Case(this.committee_decision, _outcome_is(S.ELIGIBLE))
        .Case(this.await_resubmission, _outcome_is(S.DRAFT))
        .Default(this.end_ineligible)
    )
    await_resubmission = (
        flow.Handle(this.record_step)
        .Annotation(title=_("Awaiting resubmission by the association"))
        .Next(this.screening)
    )
    committee_decision = (
        flow.Handle(this.record_step)
        .Annotation(title=_("Committee decision"))
        .Next(this.decision_outcome)
    )
    decision_outcome = (
        flow.Switch()
        .Annotation(title=_("Decision outcome"))
        .Case(this.await_enrolment, _outcome_is(S.APPROVED))
        .Case(this.await_resubmission, _outcome_is(S.REVISION_REQUESTED))
        .Default(this.end_rejected)
    )
    await_enrolment = (
        flow.Handle(this.record_step)
        .Annotation(title=_("Enrolment in training"))
        .Next(this.training_signoff)
    )
    training_signoff = (
        flow.View(task_views.TrainingSignoffView.as_view())
        .Annotation(title=_("Training sign-off"), summary_template="{{ process.project }}")
        .Permission("workflow.complete_training")
        .Assign(this.officer_who_screened)
        .Next(this.await_funding)
    )
    await_funding = (
        flow.Handle(this.record_step)
        .Annotation(title=_("Funding opened by finance"))
        .Next(this.await_equipment)
    )
    await_equipment = (
        flow.Handle(this.record_step)
        .Annotation(title=_("Equipment received"))
        .Next(this.launch)
    )
    launch = (
        flow.View(task_views.LaunchView.as_view())
        .Annotation(title=_("Project launch"), summary_template="{{ process.project }}")
        .Permission("workflow.launch_project")
        .Next(this.closure)
    )
    closure = (
        flow.View(task_views.ClosureView.as_view())
        .Annotation(title=_("Project closure"), summary_template=CLOSURE_SUMMARY)
        .Permission("workflow.close_project")
        .Assign(this.officer_who_signed_off_training)
        .Next(this.end_closed)
    )
    end_ineligible = flow.End().Annotation(title=_("Ineligible"))
    end_rejected = flow.End().Annotation(title=_("Rejected"))
    end_closed = flow.End().Annotation(title=_("Closed"))

    # Which project transitions complete each waiting or human node. A human task
    # completed on another screen (an API call, a bulk action) is closed on behalf
    # of whoever did it, so the process never lags behind the project.
    ADVANCED_BY = {
        "screening": ("screen_ok", "screen_fail", "return_docs"),
        "await_resubmission": ("submit", "resubmit"),
        "committee_decision": ("decide_approve", "decide_revise", "decide_reject"),
        "await_enrolment": ("enrol",),
        "training_signoff": ("complete_training",),
        "await_funding": ("open_funding",),
        "await_equipment": ("equipment_received",),
        "launch": ("launch",),
        "closure": ("close",),
    }
    # Transitions that end the file from any step: the process is cancelled.
    ABORTED_BY = ("withdraw",)

    # --- node callbacks -------------------------------------------------------------
    def start_process(self, activation, project):
        activation.process.artifact = project
        activation.process.data = {"reference": project.reference}
        return activation.process

    def record_step(self, activation, transition, actor, state):
        activation.task.owner = actor
        activation.task.data = {**(activation.task.data or {}), "transition": transition, "state": state}
        return activation.process

    def officer_who_screened(self, activation):
        return _previous_owner(activation, "screening", "workflow.complete_training")

    def officer_who_signed_off_training(self, activation):
        return _previous_owner(activation, "training_signoff", "workflow.close_project")

    # --- access ------------------------------------------------------------------------
    def has_view_permission(self, user, obj=None):
        # Every role that reads project files may see their processes; the
        # auto-created view_grantprocess permission is held by no role.
        return user.is_authenticated and user.has_perm("workflow.view_grantproject")


def _previous_owner(activation, node_name, perm):
    """Who completed ``node_name`` in this process, if they may still take the next step."""
    task = (
        activation.process.task_set.filter(
            flow_task=getattr(GrantFlow, node_name), status=STATUS.DONE
        )
        .select_related("owner")
        .order_by("-pk")
        .first()
    )
    owner = task.owner if task else None
    if owner is not None and owner.is_active and owner.has_perm(perm):
        return owner
    return None


# --- following the project ---------------------------------------------------------


def process_for(project) -> GrantProcess | None:
    return GrantProcess.objects.for_project(project).order_by("pk").first()


def start_for(project) -> GrantProcess:
    """Start the project's process unless it has one: at most one process per project.

    The project row lock serialises two starters; the flow row does not exist yet.
    """
    with transaction.atomic():
        list(GrantProject.objects.select_for_update(of=("self",)).filter(pk=project.pk).values_list("pk"))
        existing = process_for(project)
        if existing is not None:
            return existing
        return GrantFlow.start.run(project=project)


def _advance(task, transition, actor, state):
    node = task.flow_task
    if isinstance(node, flow.Handle):
        node.run(task, transition=transition, actor=actor, state=state)
        return
    # A human task done elsewhere: close it on behalf of the person who did it.
    with task.activation() as activation:
        if activation.task.status not in (STATUS.NEW, STATUS.ASSIGNED):
            return
        activation.task.owner = actor
        activation.task.data = {
            **(activation.task.data or {}),
            "transition": transition, "state": state, "completed_elsewhere": True,
        }
        if activation.task.status == STATUS.NEW:
            activation.assign(actor)
        activation.start(None)
        activation.execute()


# Every transition the flow reacts to; the others (schedule, defer, suspend, resume...)
# leave the process where it is and cost no query.
FOLLOWED_TRANSITIONS = frozenset(
    {"submit", *GrantFlow.ABORTED_BY, *(t for ts in GrantFlow.ADVANCED_BY.values() for t in ts)}
)


def follow(project, transition, actor) -> GrantProcess | None:
    """Move the project's process to match ``transition``, already committed on ``project``."""
    if transition not in FOLLOWED_TRANSITIONS:
        return None
    process = process_for(project)
    if process is None:
        return start_for(project) if transition == "submit" else None
    if process.status != PROCESS.NEW:
        return process  # finished or cancelled: nothing left to follow
    if transition in GrantFlow.ABORTED_BY:
        process.data = {**(process.data or {}), "aborted_by": transition}
        GrantFlow.instance.cancel(process)
        return process
    active = process.task_set.filter(status__in=(STATUS.NEW, STATUS.ASSIGNED)).order_by("pk")
    for task in active:
        if transition in GrantFlow.ADVANCED_BY.get(task.flow_task.name, ()):
            _advance(task, transition, actor, project.state)
    return process


@receiver(project_transitioned, sender=GrantProject, dispatch_uid="workflow.flows.follow")
def _on_project_transitioned(sender, project, transition, actor, **kwargs):
    # Runs after the transition committed: a failure here must not turn a done
    # transition into an error page. It is logged, and the task lists show the lag.
    try:
        follow(project, transition, actor)
    except Exception:
        logger.exception(
            "grant flow could not follow %s of project %s", transition, project.pk
        )
