"""One service per project transition (DESIGN.md §3–4).

Each public service runs in one durable transaction (``@service_transaction``): it
locks the rows it changes (program before project when money moves), checks the
actor's permission and separation of duties, evaluates the transition's guards so
that every unmet one is reported, calls the django-fsm transition, appends the audit
entry and saves with ``update_fields``. Side effects go through ``on_commit``.

Every service raises only coded errors from ``workflow.exceptions``: ``NotFound``,
``PermissionDenied``/``SeparationOfDuties``, ``InvalidInput`` (field-level),
``TransitionNotAllowed``, ``GuardFailed``/``BudgetExceeded``, ``ConcurrentUpdate``.
"""

from django.db import transaction
from django.dispatch import Signal
from django.utils import timezone
from django.utils.translation import gettext as _

from ..audited_transition import apply_transition, check_permission
from ..eligibility import evaluate_eligibility
from ..exceptions import InvalidInput, SeparationOfDuties, TransitionNotAllowed
from ..locks import lock_project, lock_project_with_program
from ..models import GrantProject, Outcome
from ..transactions import service_transaction
from .input import parse_money, require_text

# Sent after the transaction commits: sender=GrantProject, project, transition, actor.
project_transitioned = Signal()

def transition_project(project, actor, name, *, payload=None, fields=(), args=()):
    """Apply transition ``name`` to the locked ``project`` and audit it (joins the caller's
    transaction; public services below are the entry points)."""
    apply_transition(project, actor, name, payload=payload, fields=fields, args=args)
    transaction.on_commit(
        lambda: project_transitioned.send(
            sender=GrantProject, project=project, transition=name, actor=actor
        )
    )
    return project


@service_transaction
def project_submit(*, project_id, actor) -> GrantProject:
    """draft → submitted. Association agent. Needs consent, every required document and a
    requested amount within the ceiling."""
    project = lock_project(project_id, with_beneficiary=True)
    project.submitted_by, project.submitted_at = actor, timezone.now()
    return transition_project(
        project, actor, "submit",
        payload={"documents": sorted(set(project.documents.values_list("doc_type", flat=True)))},
        fields=["submitted_by", "submitted_at"],
    )


@service_transaction
def project_resubmit(*, project_id, actor) -> GrantProject:
    """revision_requested → submitted. Association agent, after revising the file."""
    project = lock_project(project_id, with_beneficiary=True)
    project.submitted_by, project.submitted_at = actor, timezone.now()
    return transition_project(
        project, actor, "resubmit",
        payload={"documents": sorted(set(project.documents.values_list("doc_type", flat=True)))},
        fields=["submitted_by", "submitted_at"],
    )


def _check_not_submitter(project, actor):
    if project.submitted_by_id is not None and project.submitted_by_id == actor.pk:
        raise SeparationOfDuties(
            _("You submitted this file; another program officer must screen it.")
        )


@service_transaction
def project_return_docs(*, project_id, actor, reason) -> GrantProject:
    """submitted → draft: the file is returned to the association. Program officer, who
    must not be the one who submitted it; a reason is required."""
    reason = require_text(reason, "reason")
    project = lock_project(project_id)
    check_permission(actor, GrantProject.transition_permission("return_docs"))
    _check_not_submitter(project, actor)
    return transition_project(project, actor, "return_docs", payload={"reason": reason})


@service_transaction
def project_screen(*, project_id, actor, note="", failures=()) -> GrantProject:
    """submitted → eligible, or → ineligible with every failed rule recorded.

    Program officer, who must not be the one who submitted the file. The program's
    rules are evaluated; ``failures`` adds reasons the officer found by reading the
    file (e.g. a forged document). Any failure makes the file ineligible.
    """
    project = lock_project(project_id, with_beneficiary=True)
    check_permission(actor, GrantProject.transition_permission("screen_ok"))
    _check_not_submitter(project, actor)
    if project.state != "submitted":
        raise TransitionNotAllowed(params={"transition": "screen", "state": project.state})
    found = [f.as_dict() for f in evaluate_eligibility(project)]
    found += [{"code": "officer", "message": require_text(text, "failures")} for text in failures]
    project.eligibility_failures = found
    payload = {"failed_rules": found, "note": (note or "").strip()}
    name = "screen_fail" if found else "screen_ok"
    return transition_project(project, actor, name, payload=payload, fields=["eligibility_failures"])


@service_transaction
def project_schedule(*, project_id, actor, session_ref="") -> GrantProject:
    """eligible → in_committee: placed on a committee session's agenda. Program officer."""
    project = lock_project(project_id)
    return transition_project(project, actor, "schedule", payload={"session": str(session_ref)})


@service_transaction
def project_defer(*, project_id, actor, reason) -> GrantProject:
    """in_committee → eligible: removed from the agenda (no quorum, tie...). Program
    officer or chair; reason required."""
    reason = require_text(reason, "reason")
    project = lock_project(project_id)
    return transition_project(project, actor, "defer", payload={"reason": reason})


class Decision:
    APPROVE = "approve"
    REVISE = "revise"
    REJECT = "reject"
    CHOICES = (APPROVE, REVISE, REJECT)


@service_transaction
def project_decide(*, project_id, actor, outcome, amount=None, conditions="", reason="",
                   decision_ref="") -> GrantProject:
    """in_committee → approved / revision_requested / rejected. Committee chair.

    Approval needs an amount (≤ requested, ≤ program ceiling, ≤ the envelope's free
    balance, checked under the program row lock); revision and rejection need a reason.
    """
    if outcome not in Decision.CHOICES:
        raise InvalidInput(field_errors={"outcome": [_("Choose approve, revise or reject.")]})
    if outcome == Decision.APPROVE:
        amount = parse_money(amount, "amount")
        project = lock_project_with_program(project_id)
        check_permission(actor, GrantProject.transition_permission("decide_approve"))
        if amount > project.requested_amount:
            raise InvalidInput(field_errors={"amount": [_("The approved amount cannot exceed the requested amount.")]})
        if amount > project.program.project_ceiling:
            raise InvalidInput(field_errors={"amount": [
                _("The approved amount cannot exceed the program ceiling of %(ceiling)s MAD.")
                % {"ceiling": project.program.project_ceiling}
            ]})
        project.approved_amount = amount
        project.decision_conditions = (conditions or "").strip()
        payload = {"outcome": outcome, "amount": amount, "conditions": project.decision_conditions,
                   "decision": str(decision_ref)}
        transition_project(project, actor, "decide_approve", payload=payload,
                           fields=["approved_amount", "decision_conditions"])
        # The envelope ledger's commitment, in this transaction, under the program lock.
        from disbursements.services.envelope import commit_for_project

        commit_for_project(project, actor)
        return project
    reason = require_text(reason, "reason")
    project = lock_project(project_id)
    name = "decide_revise" if outcome == Decision.REVISE else "decide_reject"
    payload = {"outcome": outcome, "reason": reason, "decision": str(decision_ref)}
    return transition_project(project, actor, name, payload=payload)


@service_transaction
def project_enrol(*, project_id, actor) -> GrantProject:
    """approved → in_training. Program officer."""
    return transition_project(lock_project(project_id), actor, "enrol")


@service_transaction
def project_complete_training(*, project_id, actor) -> GrantProject:
    """in_training → trained: training sign-off. Program officer; needs every mandatory
    module attended at the program's threshold."""
    return transition_project(lock_project(project_id), actor, "complete_training")


@service_transaction
def project_open_funding(*, project_id, actor) -> GrantProject:
    """trained → funding. Finance officer."""
    return transition_project(lock_project(project_id), actor, "open_funding")


@service_transaction
def project_confirm_equipment(*, project_id, actor) -> GrantProject:
    """funding → equipped. Program officer; needs every purchase order received."""
    return transition_project(lock_project(project_id), actor, "equipment_received")


@service_transaction
def project_launch(*, project_id, actor, note="") -> GrantProject:
    """equipped → launched. Mentor or program officer."""
    return transition_project(
        lock_project(project_id), actor, "launch", payload={"note": (note or "").strip()}
    )


@service_transaction
def project_close(*, project_id, actor, outcome, reason="") -> GrantProject:
    """launched → closed with an outcome (success, failed, abandoned). Program officer.
    Needs the follow-up plan finished, or an abandonment reason."""
    if outcome not in Outcome.values:
        raise InvalidInput(field_errors={"outcome": [_("Choose success, failed or abandoned.")]})
    reason = (reason or "").strip()
    if outcome == Outcome.ABANDONED:
        reason = require_text(reason, "reason")
    project = lock_project(project_id)
    project.outcome, project.closure_reason = outcome, reason
    return transition_project(
        project, actor, "close", payload={"outcome": outcome, "reason": reason},
        fields=["outcome", "closure_reason"],
    )


@service_transaction
def project_withdraw(*, project_id, actor, reason) -> GrantProject:
    """any non-terminal → withdrawn, at the beneficiary's request. Association agent or
    program officer; reason required."""
    reason = require_text(reason, "reason")
    project = lock_project(project_id)
    return transition_project(
        project, actor, "withdraw", payload={"reason": reason}, fields=["state_before_suspension"]
    )


@service_transaction
def project_suspend(*, project_id, actor, reason) -> GrantProject:
    """any active state → suspended; the state is remembered for ``resume``. Program
    officer; reason required."""
    reason = require_text(reason, "reason")
    project = lock_project(project_id)
    return transition_project(
        project, actor, "suspend", payload={"reason": reason}, fields=["state_before_suspension"]
    )


@service_transaction
def project_resume(*, project_id, actor, note="") -> GrantProject:
    """suspended → the state before suspension. Program officer."""
    project = lock_project(project_id)
    return transition_project(
        project, actor, "resume", payload={"note": (note or "").strip()},
        fields=["state_before_suspension"],
    )
