"""The audit ledger: one signed entry per transition of every audited state machine.

``record_transition`` is the only way entries are written. It runs inside the
transaction that changes the state, after the caller has locked the entity's row, so
the per-entity chain is contiguous and a rolled-back transition leaves no entry. The
caller saves the entity afterwards, including ``HEAD_FIELDS`` when the entity keeps its
chain head (``AuditedModel``).

Each entry is stored as exact canonical bytes (format version 1), chained to the
previous entry of the same entity by its hash, and signed (Ed25519) by the active entry
key. The integrator (``workflow.audit.integrator``) later gives entries their place in a
global RFC 6962 Merkle tree and signs checkpoints. See docs/audit-ledger.md.
"""

from django.db import connection
from django.utils import timezone

from .context import current_request_id
from .payload import to_jsonable

__all__ = ["HEAD_FIELDS", "record_transition"]


def record_transition(*, entity, transition, from_state, to_state, actor, role, payload=None):
    """Append the signed audit entry of one transition of ``entity`` and return it."""
    from .canonical import canonical_bytes, entry_document, entry_hash
    from .keys import signer_for
    from .models import AuditEntry, entity_type_of

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
    entry = AuditEntry(
        entity_type=entity_type, entity_id=entity_id, seq=seq, transition=transition,
        from_state=from_state or "", to_state=to_state, actor_id=actor_id, actor_role=role,
        request_id=request_id, payload=payload, created_at=at,
        canonical=canonical, prev_hash=prev_hash, entry_hash=digest,
        key_id=window.key_id, signature=private_key.sign(bytes.fromhex(digest)),
    )
    entry.save()
    if keeps_head:
        # Saved by the caller with its transition (see HEAD_FIELDS).
        entity.audit_seq, entity.audit_head = seq, digest
    return entry


# The fields a caller saves after ``record_transition`` on an AuditedModel.
HEAD_FIELDS = ("audit_seq", "audit_head")


_INSERT_SQL = {}


def insert_entry(entry) -> None:
    """INSERT a new entry with one prepared statement (AuditEntry.save calls it).

    It runs on every transition of the system; building Django's INSERT query cost more
    than the round trip. Values go through each field's own ``get_db_prep_save`` (the
    same preparation ``Model.save`` applies), and the row is as ``save()`` would write it.
    """
    from .models import AuditEntry

    vendor = connection.vendor
    cached = _INSERT_SQL.get(vendor)
    if cached is None:
        fields = [f for f in AuditEntry._meta.concrete_fields if not f.primary_key and f.name != "xact_id"]
        quote = connection.ops.quote_name
        returning = " RETURNING id" if connection.features.can_return_columns_from_insert else ""
        sql = (
            f"INSERT INTO {quote(AuditEntry._meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "
            f"VALUES ({', '.join(['%s'] * len(fields))}){returning}"
        )
        cached = _INSERT_SQL[vendor] = (sql, fields, bool(returning))
    sql, fields, returning = cached
    params = [f.get_db_prep_save(getattr(entry, f.attname), connection) for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        entry.pk = cursor.fetchone()[0] if returning else cursor.lastrowid
    entry._state.adding = False
    entry._state.db = connection.alias
