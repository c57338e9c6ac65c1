"""One service per project transition that workflow owns (DESIGN.md §3–4).

Each public service runs in one durable transaction (``@service_transaction``): it
locks the rows it changes (program before project when money moves), checks the
actor's permission and separation of duties, evaluates the transition's guards so
that every unmet one is reported, calls the django-fsm transition, appends the audit
entry and saves with ``update_fields``. Side effects go through ``on_commit``.

Every service raises only coded errors from ``core.exceptions``: ``NotFound``,
``PermissionDenied``/``SeparationOfDuties``, ``InvalidInput`` (field-level),
``TransitionNotAllowed``, ``GuardFailed``/``BudgetExceeded``, ``ConcurrentUpdate``.

The transitions whose guards need facts another app owns are applied by that app's
service, which computes the fact and hands it in (``transition_project(...,
facts=...)``, ``workflow.facts``): ``complete_training`` by ``training.services``,
``equipment_received`` by ``disbursements.services``, ``launch`` and ``close`` by
``followup.services``. The committee's moves stay here, applied with what
``approvals`` hands in: the agenda placement (``schedule``), whether a session holds
the file (``defer``), the session's confirmed decision (``decide_*``) and, for an
approval, the envelope's room, which the close has from ``disbursements``.
"""

from django.utils import timezone
from django.utils.translation import gettext as _

from core.exceptions import GuardFailed, InvalidInput, SeparationOfDuties, TransitionNotAllowed
from core.input import clean_text, require_text
from core.transactions import service_transaction
from ledger.machines import transition_spec
from ledger.transitions import apply_transition, check_permission
from workflow.eligibility import evaluate_eligibility
from workflow.facts import APPLIED_BY, DECISION, ENVELOPE, HOLD, PLACEMENT
from workflow.guards import (
    not_held_by_a_session,
    placed_on_session_agenda,
    session_decided_approve,
    session_decided_reject,
    session_decided_revise,
)
from workflow.locks import lock_project, lock_project_with_program
from workflow.models import GrantProject


def transition_project(project, actor, name, *, payload=None, fields=(), args=(), facts=None):
    """Apply transition ``name`` to the locked ``project`` and audit it (joins the caller's
    transaction; public services are the entry points). ``facts``: what the guards of
    ``name`` need from other apps (``workflow.facts``), computed by the calling service."""
    apply_transition(project, actor, name, payload=payload, fields=fields, args=args, facts=facts)
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
    payload = {"failed_rules": found, "note": clean_text(note)}
    name = "screen_fail" if found else "screen_ok"
    return transition_project(project, actor, name, payload=payload, fields=["eligibility_failures"])


def _refuse_unless_committee(project, actor, name, guard, facts):
    """Permission, state, then the one committee guard of ``name`` on its own: a move
    that does not come from a session is refused for that reason alone (not, say, for the
    envelope the approval would also have needed), before anything is written."""
    check_permission(actor, GrantProject.transition_permission(name))
    if transition_spec(GrantProject, name).for_state(project.state) is None:
        raise TransitionNotAllowed(params={"transition": name, "state": project.state})
    if not guard(project, facts):
        failure = (guard.guard_code, guard.guard_detail(project, facts) or guard.guard_message)
        raise GuardFailed([failure], params={"transition": name, "failures": [guard.guard_code]})


@service_transaction
def project_schedule(*, project_id, actor, placement=None) -> GrantProject:
    """eligible → in_committee: the file is on a committee session's agenda.

    Program officer. Only ``approvals.services.session_add_item`` calls it, with the
    placement (``workflow.facts.AgendaPlacement``) of the agenda item it has just
    created: the item holds this file on a planned session of the file's program's
    committee. Without such a placement: ``guard_failed`` (``not_on_agenda``) and
    nothing changes. The audit payload names the session and the item.
    """
    project = lock_project(project_id)
    facts = {PLACEMENT: placement}
    _refuse_unless_committee(project, actor, "schedule", placed_on_session_agenda, facts)
    return transition_project(project, actor, "schedule", payload=dict(placement.reference), facts=facts)


@service_transaction
def project_defer(*, project_id, actor, reason, reason_code="", hold=None) -> GrantProject:
    """in_committee → eligible: the file goes back to the eligible files. Program officer
    or chair; reason required.

    A session that holds the file decides for it: taking it off a planned agenda
    (``session_remove_item``) or the session's close when it found no quorum, a tie or
    no majority (its confirmed deferral). ``hold`` (``workflow.facts.CommitteeHold``,
    built by ``approvals.facts.committee_hold``) says whether a session still holds the
    file; while one does, or without it, the deferral is refused (``guard_failed``,
    ``on_session_agenda``). The audit payload names the session and item that released
    the file, if any, and ``reason_code`` when the reason is the system's (``core.reasons``:
    shown translated, ``reason`` holding its English text).
    """
    reason = require_text(reason, "reason")
    project = lock_project(project_id)
    facts = {HOLD: hold}
    _refuse_unless_committee(project, actor, "defer", not_held_by_a_session, facts)
    code = {"reason_code": reason_code} if reason_code else {}
    return transition_project(project, actor, "defer", payload={"reason": reason, **code, **hold.reference},
                              facts=facts)


class Decision:
    APPROVE = "approve"
    REVISE = "revise"
    REJECT = "reject"
    CHOICES = (APPROVE, REVISE, REJECT)
    TRANSITIONS = {APPROVE: "decide_approve", REVISE: "decide_revise", REJECT: "decide_reject"}
    GUARDS = {APPROVE: session_decided_approve, REVISE: session_decided_revise, REJECT: session_decided_reject}


@service_transaction
def project_decide(*, project_id, actor, outcome, decision=None, envelope=None) -> GrantProject:
    """in_committee → approved / revision_requested / rejected: applies to the file the
    decision a committee session confirmed on it (its amount and conditions, or its
    reason).

    Committee chair, and only while closing that session: ``decision``
    (``workflow.facts.CommitteeDecision``) is built only by
    ``approvals.services.session_close``, for the chair closing it. It must be about
    this file, with this ``outcome``, and ``actor`` must be that chair; otherwise
    ``guard_failed`` (``no_session_decision``) and nothing changes. Approval also needs
    the amount within the requested amount and the program ceiling, and ``envelope``
    (``workflow.facts.EnvelopeRoom``: the room of the file's program's envelope, which
    the close computes with ``disbursements.selectors.envelope_room`` under the program
    row lock): without it, or with another program's, ``guard_failed``
    (``envelope_unchecked``); an amount above its free balance, ``budget_exceeded``
    (``envelope_exceeded``). The commitment against the envelope is the caller's, in the
    same transaction.
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
    facts = {DECISION: decision, APPLIED_BY: getattr(actor, "pk", None)}
    _refuse_unless_committee(project, actor, name, Decision.GUARDS[outcome], facts)
    ref = {"decision": "session:{session}/item:{item}".format(**decision.reference)}
    if outcome == Decision.APPROVE:
        project.approved_amount = decision.approved_amount
        project.decision_conditions = clean_text(decision.conditions)
        payload = {"outcome": outcome, "amount": decision.approved_amount,
                   "conditions": project.decision_conditions, **ref}
        return transition_project(project, actor, name, payload=payload,
                                  fields=["approved_amount", "decision_conditions"],
                                  facts={**facts, ENVELOPE: envelope})
    payload = {"outcome": outcome, "reason": decision.reason, **ref}
    return transition_project(project, actor, name, payload=payload, facts=facts)


@service_transaction
def project_enrol(*, project_id, actor) -> GrantProject:
    """approved → in_training. Program officer."""
    return transition_project(lock_project(project_id), actor, "enrol")


@service_transaction
def project_open_funding(*, project_id, actor) -> GrantProject:
    """trained → funding. Finance officer."""
    return transition_project(lock_project(project_id), actor, "open_funding")


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
        project, actor, "resume", payload={"note": clean_text(note)},
        fields=["state_before_suspension"],
    )
