"""The grant project and its lifecycle (DESIGN.md §3).

Transitions here only guard and set state. Locking, permission and separation-of-
duties checks, the audit entry, the save and side effects belong to the services in
``workflow.services``, which are the only callers of these methods.
"""

from contextlib import contextmanager
from contextvars import ContextVar
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django_fsm import RETURN_VALUE, ConcurrentTransitionMixin, FSMField, transition

from ledger.models import AuditedModel
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


def guard(code, message, detail=None):
    """Mark a transition condition with the coded, translated reason shown when it fails.
    ``detail(instance)``, when given, says precisely what is missing."""

    def decorate(func):
        func.guard_code = code
        func.guard_message = message
        func.guard_detail = detail
        return func

    return decorate


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


@guard("envelope_exceeded", _("The program's budget envelope has no room left for this amount."))
def approved_amount_within_envelope(project):
    # The approving service holds the program row lock, so the balance cannot move
    # between this check and the commit.
    return project.approved_amount is not None and project.approved_amount <= project.program.free_balance()


@guard("already_funded", _("The beneficiary already has a funded project within the program's cooldown period."))
def beneficiary_not_already_funded(project):
    # Screening checks the cooldown too, but two files of one person can be screened
    # side by side: the approval, under the program lock, checks again.
    from dateutil.relativedelta import relativedelta
    from django.utils import timezone

    since = timezone.now().date() - relativedelta(years=project.program.support_cooldown_years)
    return not funded_since(project.beneficiary_id, since, exclude_pk=project.pk)


def funded_since(beneficiary_id, since, *, exclude_pk=None) -> bool:
    """Whether the beneficiary has another project approved after ``since`` (a date) that
    still holds its approval. Measured from the approval — the envelope's commitment —
    not from when the file was created: support starts when the committee grants it."""
    committed = Q(state__in=COMMITTED_STATES) | Q(state=S.SUSPENDED, state_before_suspension__in=COMMITTED_STATES)
    return (
        GrantProject.objects.filter(beneficiary_id=beneficiary_id)
        .exclude(pk=exclude_pk)
        .filter(committed, envelope_events__kind="commit", envelope_events__created_at__date__gt=since)
        .exists()
    )


def _training_shortfall_detail(project):
    from training.attendance import attendance_shortfall

    return attendance_shortfall(project)


@guard("training_incomplete", _("Mandatory training modules are not attended at the program's threshold."),
       detail=_training_shortfall_detail)
def training_attendance_met(project):
    from training.attendance import attendance_met

    return attendance_met(project)


def _orders_not_received_detail(project):
    from workflow.funding import orders_not_received_detail

    return orders_not_received_detail(project)


@guard("orders_not_received", _("Every purchase order must be received with a signed receipt report."),
       detail=_orders_not_received_detail)
def all_orders_received(project):
    from workflow.funding import all_orders_received as received

    return received(project)


@guard("followup_incomplete", _("The follow-up plan is not finished (or give an abandonment reason)."))
def followup_complete_or_abandoned(project):
    from followup.plan import followup_complete

    return project.outcome == Outcome.ABANDONED or followup_complete(project)


# --- Committee guards (DESIGN.md §3) ------------------------------------------------
# A file enters and leaves the committee only through a session: ``schedule`` by being
# put on a session's agenda, ``decide_*`` (and a session's deferral) by the chair closing
# the session that confirmed the decision. The calling service puts on the locked
# project, for this one call, the agenda item the move comes from
# (``project.committee_item``) and the actor (``project.committee_actor``); a direct call
# has neither and is refused with a coded reason, having changed nothing.

# (session id, chair's user id) while ``approvals.services.session_close`` applies that
# session's decisions, inside its transaction; None everywhere else.
_closing_session = ContextVar("tamkeen_closing_session", default=None)


@contextmanager
def session_closing(session_id, chair_id):
    """Within this block, and only there, the confirmed decisions of session
    ``session_id`` may move their files, on behalf of its chair ``chair_id``. Only a
    session's close (which has locked the session and checked its chair) opens it."""
    token = _closing_session.set((session_id, chair_id))
    try:
        yield
    finally:
        _closing_session.reset(token)


_LIVE_SESSION_STATES = ("planned", "open")  # approvals.SessionState, without importing approvals


def _schedule_refusal(project):
    """Why the agenda item on ``project`` does not place it in committee (None if it does)."""
    item = getattr(project, "committee_item", None)
    if item is None:
        return _("A file goes to committee only by being put on a session's agenda.")
    if item.project_id != project.pk or item.removed:
        return _("This agenda item does not hold this file.")
    if item.session.state not in _LIVE_SESSION_STATES:
        return _("The session of this agenda item is closed.")
    if item.session.committee.program_id != project.program_id:
        return _("This session belongs to another program's committee.")
    return None


@guard("not_on_agenda", _("A file goes to committee only by being put on a session's agenda."),
       detail=_schedule_refusal)
def placed_on_session_agenda(project):
    return _schedule_refusal(project) is None


def _decision_refusal(project, outcome):
    """Why ``project`` cannot take ``outcome`` now (None if a closing session decided it)."""
    item, actor = getattr(project, "committee_item", None), getattr(project, "committee_actor", None)
    closing = _closing_session.get()
    if item is None or actor is None or closing is None:
        return _("A committee decision applies to a file only when the chair closes the session that took it.")
    if item.project_id != project.pk or item.removed:
        return _("This decision is about another file.")
    if item.confirmed_at is None:
        return _("The chair has not confirmed a decision on this file.")
    if item.outcome != outcome:
        return _("The decision the session confirmed on this file is “%(outcome)s”.") % {
            "outcome": item.get_outcome_display()}
    session = item.session
    if session.pk != closing[0] or session.state != "open":
        return _("The session that took this decision is not the one being closed.")
    if actor.pk != closing[1] or not session.committee.members.filter(
        user_id=actor.pk, role="chair", is_active=True
    ).exists():
        return _("Only the chair of the session's committee applies its decisions, by closing it.")
    return None


def _decided_by_closing_session(outcome):
    @guard("no_session_decision",
           _("A committee decision applies to a file only when the chair closes the session that took it."),
           detail=lambda project: _decision_refusal(project, outcome))
    def decided_by_closing_session(project):
        return _decision_refusal(project, outcome) is None

    decided_by_closing_session.__name__ = f"session_decided_{outcome}"
    return decided_by_closing_session


session_decided_approve = _decided_by_closing_session("approve")
session_decided_revise = _decided_by_closing_session("revise")
session_decided_reject = _decided_by_closing_session("reject")


def _defer_refusal(project):
    """Why ``project`` cannot be deferred now: a session still holds it (None if none does).
    A session being closed may defer its own file (no quorum, tie); taking a file off a
    planned agenda marks the item removed first."""
    live = project.agenda_items.filter(removed=False, session__state__in=_LIVE_SESSION_STATES)
    item, closing = getattr(project, "committee_item", None), _closing_session.get()
    if (item is not None and closing is not None and item.session_id == closing[0]
            and item.project_id == project.pk and item.confirmed_at is not None and item.outcome == "defer"):
        live = live.exclude(pk=item.pk)
    held = live.select_related("session").first()
    if held is None:
        return None
    return _("This file is on the agenda of the session “%(title)s”: take it off the agenda there, "
             "or let the session decide.") % {"title": held.session.title}


@guard("on_session_agenda", _("This file is on a session's agenda: take it off the agenda there, "
                              "or let the session decide."), detail=_defer_refusal)
def not_held_by_a_session(project):
    return _defer_refusal(project) is None


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
        indexes = [models.Index(fields=["program", "state"])]

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
        return sorted(
            name for name in dir(cls) if hasattr(getattr(cls, name, None), "_django_fsm")
        )

    @classmethod
    def transition_permission(cls, name: str) -> str:
        meta = getattr(cls, name)._django_fsm
        return next(iter(meta.transitions.values())).permission

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
        conditions=[placed_on_session_agenda],
    )
    def schedule(self):
        pass

    @transition(
        field=state, source=S.IN_COMMITTEE, target=S.ELIGIBLE, permission="workflow.defer_project",
        conditions=[not_held_by_a_session],
    )
    def defer(self):
        pass

    @transition(
        field=state, source=S.IN_COMMITTEE, target=S.APPROVED, permission="workflow.decide_project",
        conditions=[session_decided_approve, approved_amount_within_limits, approved_amount_within_envelope,
                    beneficiary_not_already_funded],
    )
    def decide_approve(self):
        pass

    @transition(
        field=state, source=S.IN_COMMITTEE, target=S.REVISION_REQUESTED,
        permission="workflow.decide_project", conditions=[session_decided_revise],
    )
    def decide_revise(self):
        pass

    @transition(
        field=state, source=S.IN_COMMITTEE, target=S.REJECTED, permission="workflow.decide_project",
        conditions=[session_decided_reject],
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
        conditions=[training_attendance_met],
    )
    def complete_training(self):
        pass

    @transition(field=state, source=S.TRAINED, target=S.FUNDING, permission="workflow.open_funding")
    def open_funding(self):
        pass

    @transition(
        field=state, source=S.FUNDING, target=S.EQUIPPED, permission="workflow.confirm_equipment",
        conditions=[all_orders_received],
    )
    def equipment_received(self):
        pass

    @transition(field=state, source=S.EQUIPPED, target=S.LAUNCHED, permission="workflow.launch_project")
    def launch(self):
        pass

    @transition(
        field=state, source=S.LAUNCHED, target=S.CLOSED, permission="workflow.close_project",
        conditions=[followup_complete_or_abandoned],
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
