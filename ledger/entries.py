"""The audit ledger: one signed entry per transition of every audited state machine.

``record_transition`` is the only way entries are written. It runs inside the
transaction that changes the state, after the caller has locked the entity's row, so
the per-entity chain is contiguous and a rolled-back transition leaves no entry. The
entity is saved with it, including ``HEAD_FIELDS`` when the entity keeps its chain head
(``AuditedModel``): by ``record_transition`` itself when given ``save_fields``
(``ledger.writes``: one round trip with the entry on PostgreSQL, no model signals),
otherwise by the caller afterwards.

Each entry is stored as exact canonical bytes (format version 1), chained to the
previous entry of the same entity by its hash, and signed (Ed25519) by the active entry
key. The integrator (``ledger.integrator``) later gives entries their place in a
global RFC 6962 Merkle tree and signs checkpoints. See docs/ledger.md.
"""

from django.db import connection
from django.utils import timezone

from core.request_id import current_request_id
from ledger import writes
from ledger.payload import to_jsonable
from ledger.signals import transition_applied

__all__ = ["HEAD_FIELDS", "record_transition"]


def record_transition(*, entity, transition, from_state, to_state, actor, role, payload=None,
                      save_fields=None):
    """Append the signed audit entry of one transition of ``entity`` and return it.

    With ``save_fields`` (the caller's ``update_fields``, ``HEAD_FIELDS`` included) the
    entity's row is updated too, by ``ledger.writes.write_transition`` (read its
    contract): one statement with the entry's INSERT on PostgreSQL, only while the row
    still holds ``from_state``, and no ``pre_save``/``post_save``. Without it the entry
    is inserted by ``AuditEntry.save`` and the caller saves the entity.

    ``ledger.signals.transition_applied`` is then sent, still inside the transaction."""
    from ledger.canonical import canonical_bytes, entry_document, entry_hash
    from ledger.keys import signer_for
    from ledger.models import AuditEntry, entity_type_of

    if not connection.in_atomic_block:
        raise RuntimeError("record_transition must run inside the transition's transaction")
    entity_type = entity_type_of(entity)
    entity_id = str(entity.pk)
    keeps_head = hasattr(entity, "audit_head")
    if keeps_head:  # the caller holds the row lock: the head on the row is current
        seq, prev_hash = entity.audit_seq + 1, entity.audit_head or "0" * 64
    else:
        previous = (
            AuditEntry.objects.filter(entity_type=entity_type, entity_id=entity_id)
            .order_by("-seq")
            .values_list("seq", "entry_hash")
            .first()
        )
        seq, prev_hash = (previous[0] + 1, previous[1]) if previous else (1, "0" * 64)
    at = timezone.now()
    actor_id = actor.pk if actor is not None and actor.pk else None
    payload = to_jsonable(payload or {})
    request_id = current_request_id()
    document = entry_document(
        entity_type=entity_type, entity_id=entity_id, seq=seq, transition=transition,
        from_state=from_state or "", to_state=to_state, actor_id=actor_id, role=role,
        request_id=request_id, payload=payload, prev_hash=prev_hash, at=at,
    )
    canonical = canonical_bytes(document)
    digest = entry_hash(canonical)
    window, private_key = signer_for("entry", at)
    values = {
        "entity_type": entity_type, "entity_id": entity_id, "seq": seq, "transition": transition,
        "from_state": from_state or "", "to_state": to_state, "actor_id": actor_id, "actor_role": role,
        "request_id": request_id, "payload": payload, "created_at": at,
        "canonical": canonical, "prev_hash": prev_hash, "entry_hash": digest,
        "key_id": window.key_id, "signature": private_key.sign(bytes.fromhex(digest)),
    }
    if save_fields is None:
        entry = AuditEntry(**values)
        entry.save()
        if keeps_head:
            # Saved by the caller with its transition (see HEAD_FIELDS).
            entity.audit_seq, entity.audit_head = seq, digest
    else:
        head = (entity.audit_seq, entity.audit_head) if keeps_head else None
        if keeps_head:
            entity.audit_seq, entity.audit_head = seq, digest
        try:
            entry = writes.write_transition(entity, save_fields, from_state=from_state, entry=values)
        except BaseException:
            if keeps_head:
                entity.audit_seq, entity.audit_head = head
            raise
    transition_applied.send(
        sender=type(entity), instance=entity, transition=transition,
        from_state=from_state or "", to_state=to_state, actor=actor,
    )
    return entry


# The fields a caller saves after ``record_transition`` on an AuditedModel.
HEAD_FIELDS = ("audit_seq", "audit_head")

