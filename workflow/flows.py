"""viewflow orchestration of a grant file's human work (DESIGN.md §5, docs/workflow.md).

django-fsm owns where a file *is* (``GrantProject.state``); this flow owns who must do
what *next*. Each step a person takes is a ``Step`` (``workflow.engine``): a task in the
inbox of the role — or of the person, where one is known — whose screen calls the
service that owns the transition; the transition completes the task in its own
transaction, whatever screen, command or API call made it. Two nodes no person takes
wait for other parts of the system: the committee's decision (made when the chair
closes the session) and the delivery of every purchase order.

Node and flow names are stored in the database (``viewflow_task.flow_task``):
renaming one is a data migration (see workflow 0016).
"""

from django.contrib.contenttypes.models import ContentType
from django.dispatch import receiver
from django.utils.translation import gettext_lazy as _
from viewflow import this
from viewflow.workflow import STATUS, flow, lock
from viewflow.workflow.managers import ProcessQuerySet
from viewflow.workflow.models import Process

from ledger.signals import transition_applied
from workflow import engine
from workflow.engine import End, Start, Step, Switch, Wait, on_artifact
from workflow.models import GrantProject, ProjectState

S = ProjectState

# The closure step's inbox row says when the latest follow-up visit found the file at
# risk (``PROJECT_ANNOTATORS`` set ``risk_labels`` on the page's files in one query).
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


@engine.register_flow
class GrantFlow(flow.Flow):
    """Grant project

    One process per grant file, from its first submission to its closure. The program
    officer screens it and puts it on a committee agenda; the committee decides; the
    officer enrols it and signs off training; finance opens funding and orders the
    equipment; the officer confirms it; the mentor launches the project and the
    officer closes it. A file returned for documents or sent back for revision waits
    for the association's resubmission and is screened again, in the same process.
    """

    process_title = _("Grant project")
    process_description = _(
        "One process per grant file, from its first submission to its closure: screening, the "
        "committee's decision, training, funding and equipment, launch and closure. A file returned "
        "for documents or sent back for revision is screened again in the same process."
    )
    process_class = GrantProcess
    lock_impl = lock.select_for_update_lock
    process_summary_template = "{{ process.project }}"

    artifact_model = GrantProject
    STARTED_BY = ("submit",)
    ABORTED_BY = ("withdraw",)

    start = Start(engine.start_process).Annotation(title=_("Submission of the application")).Next(this.screening)

    screening = (
        Step(screen=on_artifact("projects:screen"), done_by=("screen_ok", "screen_fail", "return_docs"))
        .Annotation(title=_("Eligibility screening"), summary_template="{{ process.project }}")
        .Permission("workflow.screen_project")
        .Next(this.screening_outcome)
    )
    screening_outcome = (
        Switch()
        .Annotation(title=_("Screening outcome"))
        .Case(this.agenda, _outcome_is(S.ELIGIBLE))
        .Case(this.resubmission, _outcome_is(S.DRAFT))
        .Default(this.end_ineligible)
    )
    resubmission = (
        Step(screen=on_artifact("projects:detail"), done_by=("submit", "resubmit"))
        .Annotation(title=_("Complete and resubmit the application"), summary_template="{{ process.project }}")
        .Permission("workflow.submit_project")
        .Assign(this.agent_who_submitted)
        .Next(this.screening)
    )
    agenda = (
        Step(screen=on_artifact("committees:schedule"), done_by=("schedule",))
        .Annotation(title=_("Put on a committee agenda"), summary_template="{{ process.project }}")
        .Permission("workflow.schedule_project")
        .Next(this.committee_decision)
    )
    committee_decision = (
        Wait(done_by=("decide_approve", "decide_revise", "decide_reject", "defer"))
        .Annotation(title=_("Committee decision"))
        .Next(this.decision_outcome)
    )
    decision_outcome = (
        Switch()
        .Annotation(title=_("Decision outcome"))
        .Case(this.enrolment, _outcome_is(S.APPROVED))
        .Case(this.resubmission, _outcome_is(S.REVISION_REQUESTED))
        .Case(this.agenda, _outcome_is(S.ELIGIBLE))
        .Default(this.end_rejected)
    )
    enrolment = (
        Step(screen=on_artifact("projects:enrol"), done_by=("enrol",))
        .Annotation(title=_("Enrol in training"), summary_template="{{ process.project }}")
        .Permission("workflow.enrol_project")
        .Assign(this.officer_who_screened)
        .Next(this.training_signoff)
    )
    training_signoff = (
        Step(screen=on_artifact("projects:training_signoff"), done_by=("complete_training",))
        .Annotation(title=_("Training sign-off"), summary_template="{{ process.project }}")
        .Permission("workflow.complete_training")
        .Assign(this.officer_who_screened)
        .Next(this.funding)
    )
    funding = (
        Step(screen=on_artifact("projects:open_funding"), done_by=("open_funding",))
        .Annotation(title=_("Open funding"), summary_template="{{ process.project }}")
        .Permission("workflow.open_funding")
        .Next(this.procurement)
    )
    procurement = (
        Step(screen=on_artifact("funding:orders"), done_by=("order_issued", "orders_received", "equipment_received"))
        .Annotation(title=_("Plan and order the equipment"), summary_template="{{ process.project }}")
        .Permission("disbursements.prepare_purchaseorder")
        .Assign(this.finance_officer_who_opened_funding)
        .Next(this.equipment_delivery)
    )
    equipment_delivery = (
        Wait(done_by=("orders_received", "equipment_received"))
        .Annotation(title=_("Equipment delivered and received"))
        .Next(this.equipment_check)
    )
    equipment_check = (
        Step(screen=on_artifact("funding:confirm_equipment"), done_by=("equipment_received",))
        .Annotation(title=_("Confirm the equipment"), summary_template="{{ process.project }}")
        .Permission("workflow.confirm_equipment")
        .Assign(this.officer_who_screened_for_equipment)
        .Next(this.launch)
    )
    launch = (
        Step(screen=on_artifact("projects:launch"), done_by=("launch",))
        .Annotation(title=_("Project launch"), summary_template="{{ process.project }}")
        .Permission("workflow.launch_project")
        .Assign(this.files_mentor)
        .Next(this.closure)
    )
    closure = (
        Step(screen=on_artifact("followup:close"), done_by=("close",))
        .Annotation(title=_("Project closure"), summary_template=CLOSURE_SUMMARY)
        .Permission("workflow.close_project")
        .Assign(this.officer_who_signed_off_training)
        .Next(this.end_closed)
    )
    end_ineligible = End().Annotation(title=_("Ineligible"))
    end_rejected = End().Annotation(title=_("Rejected"))
    end_closed = End().Annotation(title=_("Closed"))

    # --- what the inbox and the engine read -------------------------------------------
    @staticmethod
    def process_data(project):
        return {"reference": project.reference, "project_id": project.pk, "program_id": project.program_id}

    @staticmethod
    def describe_tasks(tasks):
        projects = load_projects({task.process.artifact_object_id for task in tasks})
        for task in tasks:
            project = projects.get(task.process.artifact_object_id)
            task.subject = project if project is not None else task.process.data.get("reference", "")
            if project is not None and project.risk_labels and task.flow_task is GrantFlow.closure:
                task.subject = f"{project} — {_('At risk')}: {', '.join(map(str, project.risk_labels))}"
            task.program_label = project.program if project else ""
            task.screen_url = task.flow_task.screen_for(task)

    # --- who takes a step -----------------------------------------------------------------
    def agent_who_submitted(self, activation):
        """The file's agent in charge (who created it, or to whom it was reassigned)."""
        project = activation.process.project
        return _capable(project.assigned_agent or project.created_by, "workflow.submit_project")

    def officer_who_screened(self, activation):
        return _previous_owner(activation, "screening", "workflow.complete_training")

    def officer_who_screened_for_equipment(self, activation):
        return _previous_owner(activation, "screening", "workflow.confirm_equipment")

    def finance_officer_who_opened_funding(self, activation):
        return _previous_owner(activation, "funding", "disbursements.prepare_purchaseorder")

    def files_mentor(self, activation):
        return _capable(activation.process.project.mentor, "workflow.launch_project")

    def officer_who_signed_off_training(self, activation):
        return _previous_owner(activation, "training_signoff", "workflow.close_project")

    # --- access ------------------------------------------------------------------------
    def has_view_permission(self, user, obj=None):
        # Every role that reads project files may see their processes; the
        # auto-created view_grantprocess permission is held by no role.
        return user.is_authenticated and user.has_perm("workflow.view_grantproject")


def _capable(user, perm):
    return user if engine.holds(user, perm) else None


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
    return _capable(task.owner if task else None, perm)


# Higher apps add what a task row says of its file (follow-up: the risk found at the
# latest visit), each as ``annotate(projects_by_id)`` in one query, from their ready().
PROJECT_ANNOTATORS: list = []


def load_projects(ids) -> dict:
    """The grant files ``ids`` in one query, annotated by the apps above (risk labels)."""
    projects = GrantProject.objects.select_related("program", "beneficiary", "sector").in_bulk(ids)
    for project in projects.values():
        project.risk_labels = []
    for annotate in PROJECT_ANNOTATORS:
        annotate(projects)
    return projects


# The open step of a file in each state, as the flow leaves it: what the demo, a data
# import (``flows_sync``) and the tests check. A file in funding waits for one of three
# steps, depending on its orders; a suspended file's steps are paused; the other states
# end the process (or, for a draft never submitted, have none).
OPEN_STEPS_OF_STATE = {
    S.SUBMITTED: {("screening",)},
    S.ELIGIBLE: {("agenda",)},
    S.IN_COMMITTEE: {("committee_decision",)},
    S.REVISION_REQUESTED: {("resubmission",)},
    S.APPROVED: {("enrolment",)},
    S.IN_TRAINING: {("training_signoff",)},
    S.TRAINED: {("funding",)},
    S.FUNDING: {("procurement",), ("equipment_delivery",), ("equipment_check",)},
    S.EQUIPPED: {("launch",)},
    S.LAUNCHED: {("closure",)},
}


def open_steps(project) -> tuple:
    """The names of the file's open steps, in the order they were opened."""
    process = process_for(project)
    if process is None:
        return ()
    return tuple(task.flow_task.name for task in process.task_set.filter(status__in=engine.OPEN).order_by("pk"))


def steps_match_state(project) -> bool:
    """Whether the file's open steps are those of its state (a draft: none, or the
    resubmission of a returned file)."""
    steps = open_steps(project)
    if project.state == S.DRAFT:
        return steps in ((), ("resubmission",))
    return steps in OPEN_STEPS_OF_STATE.get(project.state, {()})


# --- following the file ------------------------------------------------------------------


def process_for(project) -> GrantProcess | None:
    return GrantProcess.objects.for_project(project).order_by("pk").first()


@receiver(transition_applied, sender=GrantProject, dispatch_uid="workflow.flows.follow")
def _follow(sender, instance, transition, actor, to_state, **kwargs):
    """Runs inside the transition's transaction: the file's tasks move with it, or the
    transition fails with them."""
    if transition == "suspend":
        engine.pause_file(instance.pk, "suspend")
    elif transition == "resume":
        engine.resume_file(instance.pk)
    elif transition in GrantFlow.ABORTED_BY:
        engine.cancel_file(instance.pk, transition)
    else:
        engine.follow(GrantFlow, instance, transition, actor, to_state)
