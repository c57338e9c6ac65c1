"""Disbursements: ``requested → authorized → released``, or ``rejected`` / ``cancelled``.

Separation of duties: three distinct people. A finance officer requests, an
authorizing officer (not the requester) authorizes or rejects, a treasurer (neither the
requester nor the authorizer) releases. It is checked on user ids, so a user holding
several roles still cannot take two steps of one disbursement; the database's check
constraints hold the same rule as a backstop.

Releasing moves money, so it locks program → project → order → disbursement, needs
step-up re-authentication (the treasurer's password), a payment reference and an
idempotency key. The same request replayed (same treasurer, reference and key) returns
the released disbursement unchanged with ``replayed`` set (no second entry, no second
event); any other release of a released disbursement is ``transition_not_allowed``,
naming who released it, when and with which reference. Under the locks, the release must keep released ≤ approved
(project), released ≤ committed (program) and released ≤ the order's amount.
"""

from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from core.exceptions import BudgetExceeded, InvalidInput, SeparationOfDuties, TransitionNotAllowed
from core.input import clean_text, require_text
from core.money import format_mad
from core.stepup import confirm_password
from core.transactions import service_transaction
from disbursements.exceptions import IdempotencyKeyReused
from disbursements.locks import lock_disbursement, lock_funding_project, lock_order_row
from disbursements.models import Disbursement, DisbursementState, OrderState
from disbursements.selectors import order_released, program_envelope_totals, project_envelope_totals
from disbursements.services._common import (
    PAYING_STATES,
    clean_key,
    parse_amounts,
    record_create,
    require_project_state,
)
from disbursements.services.envelope import record_release
from ledger.transitions import apply_transition, check_permission
from twofactor.stepup import CODE_FIELD

REQUEST = "disbursements.request_disbursement"


def _not_twice(disbursement, actor, *steps):
    """Refuse ``actor`` if they already took one of ``steps`` on this disbursement."""
    for step in steps:
        if getattr(disbursement, f"{step}_id") == actor.pk:
            raise SeparationOfDuties(
                _("You already took another step of this disbursement; a different person must do this one."),
                params={"step": step},
            )


def _budget_failures(disbursement):
    """Every ceiling the release would break (the caller holds the locks)."""
    amount, project = disbursement.amount, disbursement.project
    failures = []
    project_totals = project_envelope_totals(project)
    if project_totals.released + amount > (project.approved_amount or 0):
        failures.append(("project_approved_exceeded", _(
            "Releasing %(amount)s would exceed the project's approved amount (%(approved)s, %(released)s "
            "already released)."
        ) % {"amount": format_mad(amount), "approved": format_mad(project.approved_amount or 0),
             "released": format_mad(project_totals.released)}))
    program_totals = program_envelope_totals(project.program)
    if program_totals.released + amount > program_totals.committed:
        failures.append(("program_committed_exceeded", _(
            "Releasing %(amount)s would exceed the program's committed balance (%(left)s left)."
        ) % {"amount": format_mad(amount),
             "left": format_mad(max(program_totals.committed - program_totals.released, 0))}))
    order = disbursement.purchase_order
    if order is not None and order_released(order) + amount > (order.amount or 0):
        failures.append(("order_amount_exceeded", _(
            "Releasing %(amount)s would exceed the purchase order's amount (%(order)s)."
        ) % {"amount": format_mad(amount), "order": format_mad(order.amount or 0)}))
    return failures


@service_transaction
def disbursement_request(*, project_id, actor, amount, purchase_order_id=None, purpose="",
                         idempotency_key=None) -> Disbursement:
    """Request a tranche on a project in funding (or later), optionally against one of
    its issued orders. Finance officer. Audited as ``create`` (→ requested).

    ``idempotency_key`` (optional): submitting the same key again returns the first
    request. Errors: ``invalid_input`` (amount, order), ``transition_not_allowed`` (project
    state), ``budget_exceeded`` (more than the project or the order has left to release).
    """
    check_permission(actor, REQUEST)
    amount = parse_amounts(amount=amount)["amount"]
    key = clean_key(idempotency_key, "idempotency_key") if idempotency_key is not None else None
    purpose = clean_text(purpose)
    project = lock_funding_project(project_id)
    if key is not None:
        previous = Disbursement.objects.filter(request_key=key).first()
        if previous is not None:
            if (previous.project_id, previous.amount, previous.purchase_order_id) != (
                    project.pk, amount, purchase_order_id and int(purchase_order_id)):
                raise IdempotencyKeyReused(field_errors={"idempotency_key": [
                    _("This request key was already used for another request.")]})
            return previous
    require_project_state(project, PAYING_STATES, _("Tranches are requested once the file is in funding."))
    order = None
    if purchase_order_id is not None:
        order = lock_order_row(purchase_order_id)
        if order.project_id != project.pk or order.state == OrderState.DRAFT:
            raise InvalidInput(field_errors={"purchase_order": [_("Choose an issued order of this project.")]})
        order.project = project
    disbursement = Disbursement(project=project, purchase_order=order, amount=amount, purpose=purpose,
                                requested_by=actor, request_key=key)
    failures = [f for f in _budget_failures(disbursement) if f[0] != "program_committed_exceeded"]
    if failures:
        raise BudgetExceeded(failures)
    disbursement.save()
    record_create(disbursement, actor, REQUEST, {
        "project": project.pk, "purchase_order": order.pk if order else None, "amount": amount, "purpose": purpose,
    })
    return disbursement


@service_transaction
def disbursement_authorize(*, disbursement_id, actor, note="") -> Disbursement:
    """requested → authorized. Authorizing officer, not the requester."""
    disbursement = lock_disbursement(disbursement_id)
    check_permission(actor, "disbursements.authorize_disbursement")
    _not_twice(disbursement, actor, "requested_by")
    disbursement.authorized_by, disbursement.authorized_at = actor, timezone.now()
    return apply_transition(disbursement, actor, "authorize", payload={"note": clean_text(note)},
                            fields=["authorized_by", "authorized_at"])


@service_transaction
def disbursement_reject(*, disbursement_id, actor, reason) -> Disbursement:
    """requested → rejected. Authorizing officer, not the requester; reason required."""
    reason = require_text(reason, "reason")
    disbursement = lock_disbursement(disbursement_id)
    check_permission(actor, "disbursements.authorize_disbursement")
    _not_twice(disbursement, actor, "requested_by")
    disbursement.closed_by, disbursement.closed_at, disbursement.closing_reason = actor, timezone.now(), reason
    return apply_transition(disbursement, actor, "reject", payload={"reason": reason},
                            fields=["closed_by", "closed_at", "closing_reason"])


@service_transaction
def disbursement_cancel(*, disbursement_id, actor, reason) -> Disbursement:
    """requested or authorized → cancelled: the request is withdrawn before payment.
    Finance officer (the maker's role), not the one who authorized it; reason required."""
    reason = require_text(reason, "reason")
    disbursement = lock_disbursement(disbursement_id)
    check_permission(actor, REQUEST)
    _not_twice(disbursement, actor, "authorized_by")
    disbursement.closed_by, disbursement.closed_at, disbursement.closing_reason = actor, timezone.now(), reason
    return apply_transition(disbursement, actor, "cancel", payload={"reason": reason},
                            fields=["closed_by", "closed_at", "closing_reason"])


def _already_released(disbursement, actor, payment_reference, key) -> Disbursement:
    """The very same request again (same treasurer, reference and key) returns the
    released disbursement marked ``replayed``; any other is refused, naming the release."""
    if (disbursement.release_key, disbursement.released_by_id, disbursement.payment_reference) == (
            key, actor.pk, payment_reference):
        disbursement.replayed = True  # a retry of the release that already happened
        return disbursement
    released_by = disbursement.released_by
    raise TransitionNotAllowed(
        _("This disbursement was already released by %(name)s on %(date)s with reference %(reference)s.") % {
            "name": released_by.get_full_name() or released_by.get_username(),
            "date": date_format(timezone.localdate(disbursement.released_at), "SHORT_DATE_FORMAT"),
            "reference": disbursement.payment_reference},
        params={"transition": "release", "state": disbursement.state,
                "released_by": released_by.pk, "payment_reference": disbursement.payment_reference})


@service_transaction
def disbursement_release(*, disbursement_id, actor, password, payment_reference, idempotency_key,
                         second_factor=None) -> Disbursement:
    """authorized → released: the funds are paid. Treasurer, neither the requester nor
    the authorizer, re-entering their password and, when they have one, giving their
    second factor (``second_factor``: a ``core.stepup.SecondFactorProof``).

    At most once: the very same request again (same treasurer, ``payment_reference`` and
    ``idempotency_key``) returns the released disbursement unchanged, with ``replayed``
    set; any other release of a released disbursement (another treasurer, reference or
    key) is ``transition_not_allowed``, saying who released it, when, with which
    reference; a key already used on another disbursement is ``idempotency_key_reused``.
    Errors: ``permission_denied``, ``reauthentication_failed``, ``invalid_input``,
    ``separation_of_duties``, ``transition_not_allowed`` (also while the project is not in
    funding, equipped or launched, e.g. suspended or withdrawn), ``budget_exceeded``
    (``project_approved_exceeded``, ``program_committed_exceeded``, ``order_amount_exceeded``).
    """
    check_permission(actor, "disbursements.release_disbursement")
    # Step-up before any lock: hashing the password is slow and must not hold the program row.
    confirm_password(actor, password, second_factor=second_factor, second_factor_field=CODE_FIELD)
    key = clean_key(idempotency_key, "idempotency_key")
    payment_reference = require_text(payment_reference, "payment_reference", max_length=100)
    disbursement = lock_disbursement(disbursement_id)
    if disbursement.state == DisbursementState.RELEASED:
        return _already_released(disbursement, actor, payment_reference, key)
    if Disbursement.objects.filter(release_key=key).exclude(pk=disbursement.pk).exists():
        raise IdempotencyKeyReused(field_errors={"idempotency_key": [
            _("This key was already used to release another disbursement.")]})
    _not_twice(disbursement, actor, "requested_by", "authorized_by")
    if disbursement.state != DisbursementState.AUTHORIZED:
        raise TransitionNotAllowed(params={"transition": "release", "state": disbursement.state})
    require_project_state(disbursement.project, PAYING_STATES,
                          _("Funds are not released while the file is %(state)s.")
                          % {"state": disbursement.project.get_state_display()})
    failures = _budget_failures(disbursement)
    if failures:
        raise BudgetExceeded(failures)
    disbursement.released_by, disbursement.released_at = actor, timezone.now()
    disbursement.payment_reference, disbursement.release_key = payment_reference, key
    apply_transition(disbursement, actor, "release", payload={
        "amount": disbursement.amount, "payment_reference": payment_reference, "idempotency_key": key,
        "purchase_order": disbursement.purchase_order_id,
    }, fields=["released_by", "released_at", "payment_reference", "release_key"])
    record_release(disbursement, actor)
    return disbursement
