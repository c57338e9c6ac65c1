"""The envelope ledger's writes: commitments, releases, decommitments.

``commit_for_project`` and ``record_release`` join the caller's transaction (the
approval and the release services hold the program row lock when they call them);
``envelope_decommit`` is an entry point of its own.
"""

from decimal import Decimal

from django.db import connection
from django.utils.translation import gettext as _

from core.exceptions import InvalidInput, TransitionNotAllowed
from core.input import require_text
from core.transactions import service_transaction
from disbursements.locks import lock_funding_project
from disbursements.models import EnvelopeEvent
from disbursements.selectors import project_envelope_totals
from ledger.transitions import apply_transition, check_permission

Kind = EnvelopeEvent.Kind


def _require_transaction():
    if not connection.in_atomic_block:
        raise RuntimeError("envelope events are written inside the service's transaction")


def commit_for_project(project, actor) -> EnvelopeEvent:
    """Record the commitment of ``project.approved_amount`` against its program.

    Called by ``approvals.services.session_close`` right after it applied the
    approval (``workflow.services.project_decide``), in its transaction and under its
    program row lock. Idempotent: a project is committed once.
    """
    _require_transaction()
    key = f"commit:project:{project.pk}"
    existing = EnvelopeEvent.objects.filter(idempotency_key=key).first()
    if existing is not None:
        return existing
    event = EnvelopeEvent(
        program_id=project.program_id, project=project, kind=Kind.COMMIT, amount=project.approved_amount,
        idempotency_key=key, actor=actor,
    )
    event.save()
    return event


def record_release(disbursement, actor) -> EnvelopeEvent:
    """Record the release of ``disbursement`` (the release service holds the locks)."""
    _require_transaction()
    event = EnvelopeEvent(
        program_id=disbursement.project.program_id, project_id=disbursement.project_id,
        disbursement=disbursement, kind=Kind.RELEASE, amount=disbursement.amount,
        idempotency_key=f"release:disbursement:{disbursement.pk}", actor=actor,
    )
    event.save()
    return event


@service_transaction
def envelope_decommit(*, project_id, actor, reason) -> EnvelopeEvent:
    """Give back to the envelope what a withdrawn project had committed and not yet
    received (committed − released of the project). Finance officer; reason required.
    Recorded as a decommitment event and as the ``give_back`` entry on the project's
    signed chain (amount, reason, what had been released).

    Errors: ``permission_denied``; ``transition_not_allowed`` unless the project is
    withdrawn; ``invalid_input`` when nothing is left to decommit.
    """
    check_permission(actor, "disbursements.decommit_project")
    reason = require_text(reason, "reason")
    project = lock_funding_project(project_id)
    if project.state != "withdrawn":
        raise TransitionNotAllowed(_("Only a withdrawn project's commitment can be given back."),
                                   params={"state": project.state})
    totals = project_envelope_totals(project)
    remaining = totals.committed - totals.released
    if remaining <= 0 or EnvelopeEvent.objects.filter(project=project, kind=Kind.DECOMMIT).exists():
        raise InvalidInput(field_errors={"project": [_("Nothing is left to decommit on this project.")]})
    event = EnvelopeEvent(
        program_id=project.program_id, project=project, kind=Kind.DECOMMIT, amount=remaining,
        idempotency_key=f"decommit:project:{project.pk}", actor=actor, note=reason,
    )
    event.save()
    # Every movement of money is on a signed chain: this one on the project's.
    cents = Decimal("0.01")  # database sums may come back without their scale (SQLite)
    apply_transition(project, actor, "give_back", payload={
        "amount": remaining.quantize(cents), "reason": reason, "released": totals.released.quantize(cents),
        "event": event.pk,
    })
    return event
