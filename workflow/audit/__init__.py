"""The audit ledger: one entry per transition of every audited state machine.

``record_transition`` is the only way entries are written. It must run inside the
transaction that changes the state, after the caller has locked the entity's row, so
the per-entity sequence is contiguous and a rolled-back transition leaves no entry.
"""

from django.db import connection
from django.utils import timezone

from .context import current_request_id
from .payload import to_jsonable

__all__ = ["record_transition"]


def record_transition(*, entity, transition, from_state, to_state, actor, role, payload=None):
    """Append the audit entry of one transition of ``entity`` and return it."""
    from .models import AuditEntry, entity_type_of

    if not connection.in_atomic_block:
        raise RuntimeError("record_transition must run inside the transition's transaction")
    entity_type = entity_type_of(entity)
    entity_id = str(entity.pk)
    last_seq = (
        AuditEntry.objects.filter(entity_type=entity_type, entity_id=entity_id)
        .order_by("-seq")
        .values_list("seq", flat=True)
        .first()
    )
    entry = AuditEntry(
        entity_type=entity_type,
        entity_id=entity_id,
        seq=(last_seq or 0) + 1,
        transition=transition,
        from_state=from_state or "",
        to_state=to_state,
        actor=actor if actor is not None and actor.pk else None,
        actor_role=role,
        request_id=current_request_id(),
        payload=to_jsonable(payload or {}),
        created_at=timezone.now(),
    )
    entry.save()
    return entry
