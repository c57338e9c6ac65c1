"""The grant project and its lifecycle (DESIGN.md §3).

Transitions here only guard and set state. Locking, permission and separation-of-
duties checks, the audit entry, the save and side effects belong to the services that
call them: ``workflow.services``, and the services of the apps that own what a guard
needs to know (``workflow.facts``), which hand those facts in. Guards that read the
project alone are django-fsm ``conditions``; guards that read handed-in facts are listed
in the transition's ``custom["fact_guards"]`` (``workflow.guards``).
"""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django_fsm import RETURN_VALUE, ConcurrentTransitionMixin, FSMField, transition

from ledger.machines import transition_spec, transition_table
from ledger.models import AuditedModel
from workflow.facts import FOLLOWUP, FollowUpProgress
from workflow.guards import (
    all_orders_received,
    approved_amount_within_envelope,
    envelope_room_handed_in,
    fact_guard,
    guard,
    not_held_by_a_session,
    placed_on_session_agenda,
    session_decided_approve,
    session_decided_reject,
    session_decided_revise,
    training_attendance_met,
)
from workflow.models.documents import DISABILITY_PROOF_TYPES, DocumentType


class ProjectState(models.TextChoices):
    DRAFT = "draft", _("draft")
    SUBMITTED = "submitted", _("submitted")
    ELIGIBLE = "eligible", _("eligible")
    INELIGIBLE = "ineligible", _("ineligible")
    IN_COMMITTEE = "in_committee", _("in committee")
    APPROVED = "approved", _("approved")
    REVISION_REQUESTED = "revision_requested", _("revision requested")
    REJECTED = "rejected", _("rejected")
    IN_TRAINING = "in_training", _("in training")
    TRAINED = "trained", _("trained")
    FUNDING = "funding", _("funding")
    EQUIPPED = "equipped", _("equipped")
    LAUNCHED = "launched", _("launched")
    CLOSED = "closed", _("closed")
    WITHDRAWN = "withdrawn", _("withdrawn")
    SUSPENDED = "suspended", _("suspended")


S = ProjectState
TERMINAL_STATES = (S.INELIGIBLE, S.REJECTED, S.CLOSED, S.WITHDRAWN)
# States a project can be suspended from, and so resumed to.
ACTIVE_STATES = tuple(s for s in S.values if s not in TERMINAL_STATES and s != S.SUSPENDED)
# States in which the approved amount is committed against the program envelope.
COMMITTED_STATES = (S.APPROVED, S.IN_TRAINING, S.TRAINED, S.FUNDING, S.EQUIPPED, S.LAUNCHED, S.CLOSED)


class Outcome(models.TextChoices):
    SUCCESS = "success", _("success")
    FAILED = "failed", _("failed")
    ABANDONED = "abandoned", _("abandoned")


def _missing_documents_detail(project):
    from workflow.models.documents import DocumentType

    labels = ", ".join(str(DocumentType(t).label) for t in project.missing_documents())
    return _("Missing documents: %(list)s.") % {"list": labels}


# --- Guards -------------------------------------------------------------------------
# Each takes the project (already locked by the calling service) and returns a bool.


@guard("documents_missing", _("Some required documents are missing."), detail=_missing_documents_detail)
def has_required_documents(project):
    return not project.missing_documents()


@guard("consent_missing", _("The beneficiary's consent to data processing is not recorded."))
def has_consent(project):
    return project.beneficiary.consent_given


@guard("amount_over_ceiling", _("The requested amount exceeds the program's ceiling per project."))
def requested_within_ceiling(project):
    return project.requested_amount <= project.program.project_ceiling


@guard("not_eligible", _("The file does not meet every eligibility rule."))
def passes_eligibility(project):
    from workflow.eligibility import evaluate_eligibility

    return not evaluate_eligibility(project)


@guard("approved_amount_invalid", _("The approved amount must be positive, at most the requested amount and at most the program ceiling."))
def approved_amount_within_limits(project):
    amount = project.approved_amount
    return (
        amount is not None
        and amount > 0
        and amount <= project.requested_amount
        and amount <= project.program.project_ceiling
    )


@guard("already_funded", _("The beneficiary already has a funded project within the program's cooldown period."))
def beneficiary_not_already_funded(project):
    # Screening checks the cooldown too, but two files of one person can be screened
    # side by side: the approval, under the program lock, checks again.
    from dateutil.relativedelta import relativedelta
    from django.utils import timezone

    from workflow.eligibility import funded_since

    since = timezone.now().date() - relativedelta(years=project.program.support_cooldown_years)
    return not funded_since(project.beneficiary_id, since, exclude_pk=project.pk)


@fact_guard("followup_incomplete", _("The follow-up plan is not finished (or give an abandonment reason)."),
            needs={FOLLOWUP: FollowUpProgress},
            missing=_("The follow-up plan was not checked: close the project from its follow-up page."))
def followup_complete_or_abandoned(project, facts):
    progress = facts[FOLLOWUP]
    if progress.project_id != project.pk:
        return _("This follow-up plan is another file's.")
    if project.outcome != Outcome.ABANDONED and not progress.finished:
        return _("The follow-up plan is not finished (or give an abandonment reason).")
    return None


class GrantProject(ConcurrentTransitionMixin, AuditedModel):
    program = models.ForeignKey(
        "workflow.Program", on_delete=models.PROTECT, related_name="projects",
        verbose_name=_("program"),
    )
    beneficiary = models.ForeignKey(
        "workflow.Beneficiary", on_delete=models.PROTECT, related_name="projects",
        verbose_name=_("beneficiary"),
    )
    title = models.CharField(_("title"), max_length=200)
    sector = models.ForeignKey(
        "workflow.ActivitySector", on_delete=models.PROTECT, related_name="projects",
        verbose_name=_("activity sector"),
    )
    description = models.TextField(_("description"))
    requested_amount = models.DecimalField(_("requested amount (MAD)"), max_digits=12, decimal_places=2)
    own_contribution = models.DecimalField(
        _("own contribution (MAD)"), max_digits=12, decimal_places=2, default=Decimal("0.00")
    )
    approved_amount = models.DecimalField(
        _("approved amount (MAD)"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    decision_conditions = models.TextField(_("conditions of the decision"), blank=True)
    eligibility_failures = models.JSONField(_("failed eligibility rules"), default=list, blank=True)
    outcome = models.CharField(_("outcome"), max_length=20, choices=Outcome.choices, blank=True)
    closure_reason = models.TextField(_("closure reason"), blank=True)
    # Follows the project after launch: set at launch when a mentor launches it, or
    # assigned by a program officer (followup.services.project_assign_mentor).
    mentor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="mentored_projects",
        null=True, blank=True, verbose_name=_("mentor"),
    )

    state = FSMField(_("state"), default=S.DRAFT, choices=S.choices, protected=True, db_index=True)
    state_before_suspension = models.CharField(
        _("state before suspension"), max_length=30, choices=S.choices, blank=True
    )

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("created by")
    )
    # The association agent who works on the file: its creator until a program officer
    # reassigns it (workflow.services.project_assign_agent); see ``agent``.
    assigned_agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True,
        verbose_name=_("assigned agent"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True,
        verbose_name=_("submitted by"),
    )
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("grant project")
        verbose_name_plural = _("grant projects")
        permissions = [
            ("submit_project", "Can submit and resubmit a project"),
            ("screen_project", "Can screen a project's eligibility or return it"),
            ("schedule_project", "Can place a project on a committee agenda"),
            ("defer_project", "Can defer a project from committee"),
            ("decide_project", "Can record a committee decision on a project"),
            ("enrol_project", "Can enrol a project in training"),
            ("complete_training", "Can sign off a project's training"),
            ("open_funding", "Can open a project's funding"),
            ("confirm_equipment", "Can confirm a project's equipment is received"),
            ("launch_project", "Can launch a project"),
            ("close_project", "Can close a project"),
            ("withdraw_project", "Can withdraw a project at the beneficiary's request"),
            ("suspend_project", "Can suspend and resume a project"),
            ("assign_agent", "Can reassign a project to another association agent"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(requested_amount__gt=0), name="project_requested_positive"
            ),
            models.CheckConstraint(
                condition=Q(own_contribution__gte=0), name="project_contribution_non_negative"
            ),
            models.CheckConstraint(
                condition=Q(approved_amount__isnull=True)
                | (Q(approved_amount__gt=0) & Q(approved_amount__lte=models.F("requested_amount"))),
                name="project_approved_within_requested",
            ),
        ]
        indexes = [
            models.Index(fields=["program", "state"]),
            # The project list's keyset (newest first), alone and under its filters.
            models.Index(fields=["created_at", "id"], name="project_created_idx"),
            models.Index(fields=["state", "created_at", "id"], name="project_state_created_idx"),
            models.Index(fields=["program", "created_at", "id"], name="project_program_created_idx"),
            # The funding tray's files in funding, oldest submitted first.
            models.Index(fields=["state", "submitted_at", "id"], name="project_state_submitted_idx"),
            # A program's beneficiaries (the dashboard's figures), read from the index alone.
            models.Index(fields=["program", "beneficiary"], name="project_program_benef_idx"),
        ]

    def __str__(self):
        return f"{self.reference} — {self.title}"

    @property
    def reference(self):
        return f"AGR-{self.program.year if self.program_id else 0}-{self.pk or 0:05d}"

    @property
    def total_cost(self):
        return self.requested_amount + self.own_contribution

    @property
    def is_terminal(self):
        return self.state in TERMINAL_STATES

    def required_document_types(self):
        return list(self.program.required_documents)

    def missing_documents(self):
        """Document types still to upload (a disability needs one of the accepted proofs)."""
        present = set(self.documents.values_list("doc_type", flat=True))
        missing = [t for t in self.required_document_types() if t not in present]
        if self.beneficiary.has_disability:
            # The card, a medical certificate, or — when the file says the proof is another
            # document (DOMAIN.md) — a document of type "other".
            accepted = set(DISABILITY_PROOF_TYPES)
            if self.beneficiary.disability_proof == "other":
                accepted.add(DocumentType.OTHER)
            if not present.intersection(accepted):
                missing.append(DISABILITY_PROOF_TYPES[0].value)
        return missing

    @classmethod
    def transition_names(cls) -> list[str]:
        return sorted(transition_table(cls))

    @classmethod
    def transition_permission(cls, name: str) -> str:
        return transition_spec(cls, name).permission

    # --- Lifecycle ---------------------------------------------------------------
    @transition(
        field=state, source=S.DRAFT, target=S.SUBMITTED, permission="workflow.submit_project",
        conditions=[has_consent, has_required_documents, requested_within_ceiling],
    )
    def submit(self):
        pass

    @transition(field=state, source=S.SUBMITTED, target=S.DRAFT, permission="workflow.screen_project")
    def return_docs(self):
        pass

    @transition(
        field=state, source=S.SUBMITTED, target=S.ELIGIBLE, permission="workflow.screen_project",
        conditions=[passes_eligibility],
    )
    def screen_ok(self):
        pass

    @transition(field=state, source=S.SUBMITTED, target=S.INELIGIBLE, permission="workflow.screen_project")
    def screen_fail(self):
        pass

    @transition(
        field=state, source=S.ELIGIBLE, target=S.IN_COMMITTEE, permission="workflow.schedule_project",
        custom={"fact_guards": [placed_on_session_agenda]},
    )
    def schedule(self):
        pass

    @transition(
        field=state, source=S.IN_COMMITTEE, target=S.ELIGIBLE, permission="workflow.defer_project",
        custom={"fact_guards": [not_held_by_a_session]},
    )
    def defer(self):
        pass

    @transition(
        field=state, source=S.IN_COMMITTEE, target=S.APPROVED, permission="workflow.decide_project",
        conditions=[approved_amount_within_limits, beneficiary_not_already_funded],
        custom={"fact_guards": [session_decided_approve, envelope_room_handed_in,
                                approved_amount_within_envelope]},
    )
    def decide_approve(self):
        pass

    @transition(
        field=state, source=S.IN_COMMITTEE, target=S.REVISION_REQUESTED,
        permission="workflow.decide_project", custom={"fact_guards": [session_decided_revise]},
    )
    def decide_revise(self):
        pass

    @transition(
        field=state, source=S.IN_COMMITTEE, target=S.REJECTED, permission="workflow.decide_project",
        custom={"fact_guards": [session_decided_reject]},
    )
    def decide_reject(self):
        pass

    @transition(
        field=state, source=S.REVISION_REQUESTED, target=S.SUBMITTED,
        permission="workflow.submit_project",
        conditions=[has_consent, has_required_documents, requested_within_ceiling],
    )
    def resubmit(self):
        pass

    @transition(field=state, source=S.APPROVED, target=S.IN_TRAINING, permission="workflow.enrol_project")
    def enrol(self):
        pass

    @transition(
        field=state, source=S.IN_TRAINING, target=S.TRAINED, permission="workflow.complete_training",
        custom={"fact_guards": [training_attendance_met]},
    )
    def complete_training(self):
        pass

    @transition(field=state, source=S.TRAINED, target=S.FUNDING, permission="workflow.open_funding")
    def open_funding(self):
        pass

    @transition(
        field=state, source=S.FUNDING, target=S.EQUIPPED, permission="workflow.confirm_equipment",
        custom={"fact_guards": [all_orders_received]},
    )
    def equipment_received(self):
        pass

    @transition(field=state, source=S.EQUIPPED, target=S.LAUNCHED, permission="workflow.launch_project")
    def launch(self):
        pass

    @transition(
        field=state, source=S.LAUNCHED, target=S.CLOSED, permission="workflow.close_project",
        custom={"fact_guards": [followup_complete_or_abandoned]},
    )
    def close(self):
        pass

    @transition(
        field=state, source=ACTIVE_STATES + (S.SUSPENDED,), target=S.WITHDRAWN,
        permission="workflow.withdraw_project",
    )
    def withdraw(self):
        pass

    # Records on a withdrawn file's chain the commitment a finance officer gave back to
    # the envelope (disbursements.services.envelope_decommit).
    @transition(field=state, source=S.WITHDRAWN, target=None, permission="disbursements.decommit_project")
    def give_back(self):
        pass

    # Records an edit of the draft or revised file on its chain, without moving it.
    @transition(field=state, source=[S.DRAFT, S.REVISION_REQUESTED], target=None,
                permission="workflow.change_grantproject")
    def edit(self):
        pass

    # Records on the file's chain that a program officer gave it to another agent.
    @transition(field=state, source=ACTIVE_STATES + (S.SUSPENDED,), target=None, permission="workflow.assign_agent")
    def assign_agent(self):
        pass

    @property
    def agent_in_charge_id(self):
        """The id of the association agent who works on the file."""
        return self.assigned_agent_id or self.created_by_id

    # Records a document on the file's chain (its type and SHA-256) without moving it:
    # a document changed or swapped after a decision no longer matches its entry.
    @transition(field=state, source=ACTIVE_STATES + (S.SUSPENDED,), target=None, permission="workflow.add_document")
    def attach_document(self):
        pass

    @transition(field=state, source=ACTIVE_STATES, target=S.SUSPENDED, permission="workflow.suspend_project")
    def suspend(self):
        self.state_before_suspension = self.state

    @transition(
        field=state, source=S.SUSPENDED, target=RETURN_VALUE(*ACTIVE_STATES),
        permission="workflow.suspend_project",
    )
    def resume(self):
        previous, self.state_before_suspension = self.state_before_suspension, ""
        return previous
