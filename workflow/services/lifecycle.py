"""One service per project transition (DESIGN.md §3–4).

Each public service runs in one durable transaction (``@service_transaction``): it
locks the rows it changes (program before project when money moves), checks the
actor's permission and separation of duties, evaluates the transition's guards so
that every unmet one is reported, calls the django-fsm transition, appends the audit
entry and saves with ``update_fields``. Side effects go through ``on_commit``.

Every service raises only coded errors from ``core.exceptions``: ``NotFound``,
``PermissionDenied``/``SeparationOfDuties``, ``InvalidInput`` (field-level),
``TransitionNotAllowed``, ``GuardFailed``/``BudgetExceeded``, ``ConcurrentUpdate``.
"""

from django.db import transaction
from django.dispatch import Signal
from django.utils import timezone
from django.utils.translation import gettext as _

from core.exceptions import GuardFailed, InvalidInput, SeparationOfDuties, TransitionNotAllowed
from core.input import require_text
from core.transactions import service_transaction
from ledger.transitions import apply_transition, check_permission
from workflow.eligibility import evaluate_eligibility
from workflow.locks import lock_project, lock_project_with_program
from workflow.models import GrantProject, Outcome
from workflow.models.project import (
    not_held_by_a_session,
    placed_on_session_agenda,
    session_decided_approve,
    session_decided_reject,
    session_decided_revise,
)

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


def _committee_item(project, agenda_item_id, actor):
    """Put on the locked ``project``, for the committee guards of its transition, the
    agenda item the move comes from (None when missing or malformed) and the actor."""
    item = None
    if agenda_item_id not in (None, ""):
        try:
            pk = int(agenda_item_id)
        except (TypeError, ValueError):
            pk = None
        if pk is not None:
            item = (project.agenda_items.model.objects
                    .select_related("session", "session__committee").filter(pk=pk).first())
    project.committee_item, project.committee_actor = item, actor
    return item


def _refuse_unless_committee(project, actor, name, condition):
    """Permission, state, then the one committee guard ``condition`` on its own: a move
    that does not come from a session is refused for that reason alone (not, say, for the
    envelope the approval would also have needed), before anything is written."""
    check_permission(actor, GrantProject.transition_permission(name))
    meta = getattr(GrantProject, name)._django_fsm
    if not meta.has_transition(project.state):
        raise TransitionNotAllowed(params={"transition": name, "state": project.state})
    if not condition(project):
        failure = (condition.guard_code, condition.guard_detail(project) or condition.guard_message)
        raise GuardFailed([failure], params={"transition": name, "failures": [condition.guard_code]})


def _item_ref(item):
    return {"session": item.session_id, "item": item.pk}


@service_transaction
def project_schedule(*, project_id, actor, agenda_item_id=None) -> GrantProject:
    """eligible → in_committee: the file is on a committee session's agenda.

    Program officer. Only ``approvals.services.session_add_item`` calls it, with the
    agenda item it has just created: the item must hold this file on a planned (or
    open) session of the file's program's committee. Without such an item:
    ``guard_failed`` (``not_on_agenda``) and nothing changes. The audit payload names
    the session and the item.
    """
    project = lock_project(project_id)
    item = _committee_item(project, agenda_item_id, actor)
    _refuse_unless_committee(project, actor, "schedule", placed_on_session_agenda)
    return transition_project(project, actor, "schedule", payload=_item_ref(item))


@service_transaction
def project_defer(*, project_id, actor, reason, agenda_item_id=None) -> GrantProject:
    """in_committee → eligible: the file goes back to the eligible files. Program officer
    or chair; reason required.

    A session that holds the file decides for it: taking it off a planned agenda
    (``session_remove_item``) or the session's close when it found no quorum, a tie or
    no majority (``agenda_item_id``: its confirmed deferral). Called directly, it is
    refused while the file is on a planned or open session's agenda
    (``guard_failed``, ``on_session_agenda``); it serves a file no session holds any more
    (e.g. resumed after its session closed while it was suspended).
    """
    reason = require_text(reason, "reason")
    project = lock_project(project_id)
    item = _committee_item(project, agenda_item_id, actor)
    _refuse_unless_committee(project, actor, "defer", not_held_by_a_session)
    payload = {"reason": reason, **(_item_ref(item) if item is not None else {})}
    return transition_project(project, actor, "defer", payload=payload)


class Decision:
    APPROVE = "approve"
    REVISE = "revise"
    REJECT = "reject"
    CHOICES = (APPROVE, REVISE, REJECT)
    TRANSITIONS = {APPROVE: "decide_approve", REVISE: "decide_revise", REJECT: "decide_reject"}
    GUARDS = {APPROVE: session_decided_approve, REVISE: session_decided_revise, REJECT: session_decided_reject}


@service_transaction
def project_decide(*, project_id, actor, outcome, agenda_item_id=None) -> GrantProject:
    """in_committee → approved / revision_requested / rejected: applies to the file the
    decision the chair confirmed on agenda item ``agenda_item_id`` (its amount and
    conditions, or its reason).

    Committee chair, and only while closing that item's session: only
    ``approvals.services.session_close`` calls it, inside ``session_closing``. The item
    must hold this file, be confirmed with this ``outcome``, and belong to the open
    session being closed by ``actor``, its committee's chair; otherwise ``guard_failed``
    (``no_session_decision``) and nothing changes. Approval also needs the amount within
    the requested amount, the program ceiling and the envelope's free balance (checked
    under the program row lock; ``budget_exceeded``) and commits it to the envelope.
    Errors: ``invalid_input`` (unknown outcome), ``not_found``, ``permission_denied``,
    ``transition_not_allowed``, ``guard_failed``, ``budget_exceeded``.
    """
    if outcome not in Decision.CHOICES:
        raise InvalidInput(field_errors={"outcome": [_("Choose approve, revise or reject.")]})
    name = Decision.TRANSITIONS[outcome]
    if outcome == Decision.APPROVE:
        project = lock_project_with_program(project_id)
    else:
        project = lock_project(project_id)
    item = _committee_item(project, agenda_item_id, actor)
    _refuse_unless_committee(project, actor, name, Decision.GUARDS[outcome])
    ref = {"decision": f"session:{item.session_id}/item:{item.pk}"}
    if outcome == Decision.APPROVE:
        project.approved_amount = item.approved_amount
        project.decision_conditions = (item.conditions or "").strip()
        payload = {"outcome": outcome, "amount": item.approved_amount,
                   "conditions": project.decision_conditions, **ref}
        transition_project(project, actor, name, payload=payload,
                           fields=["approved_amount", "decision_conditions"])
        # The envelope ledger's commitment, in this transaction, under the program lock.
        from disbursements.services.envelope import commit_for_project

        commit_for_project(project, actor)
        return project
    payload = {"outcome": outcome, "reason": item.reason, **ref}
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
    """equipped → launched. Mentor or program officer. A mentor launching a project with
    no mentor becomes its mentor; the follow-up plan is made in the same transaction."""
    from followup.services import create_followup_plan, mentor_at_launch

    project = lock_project(project_id)
    fields = mentor_at_launch(project, actor)
    transition_project(project, actor, "launch", payload={"note": (note or "").strip()}, fields=fields)
    create_followup_plan(project, actor)
    return project


@service_transaction
def project_close(*, project_id, actor, outcome, reason="", recovery=None) -> GrantProject:
    """launched → closed with an outcome (success, failed, abandoned). Program officer.
    Needs the follow-up plan finished, or an abandonment reason. An abandonment can
    record the equipment recovered (``recovery={"items", "value", "note"}``); visits not
    yet made are cancelled."""
    from followup.services import close_followup, parse_recovery

    if outcome not in Outcome.values:
        raise InvalidInput(field_errors={"outcome": [_("Choose success, failed or abandoned.")]})
    reason = (reason or "").strip()
    if outcome == Outcome.ABANDONED:
        reason = require_text(reason, "reason")
    recovered = parse_recovery(outcome, recovery)
    project = lock_project(project_id)
    project.outcome, project.closure_reason = outcome, reason
    payload = {"outcome": outcome, "reason": reason}
    if recovered is not None:
        payload["recovery"] = recovered
    transition_project(project, actor, "close", payload=payload, fields=["outcome", "closure_reason"])
    close_followup(project, actor, outcome, recovered)
    return project


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
