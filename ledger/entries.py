"""The audit ledger: one signed entry per transition of every audited state machine.

``record_transition`` is the only way entries are written. It runs inside the
transaction that changes the state, after the caller has locked the entity's row, so
the per-entity chain is contiguous and a rolled-back transition leaves no entry. The
entity is saved with it, including ``HEAD_FIELDS`` when the entity keeps its chain head
(``AuditedModel``): by ``record_transition`` itself when given ``save_fields`` (one
round trip with the entry on PostgreSQL, see ``ledger.rows``), otherwise by
the caller afterwards.

Each entry is stored as exact canonical bytes (format version 1), chained to the
previous entry of the same entity by its hash, and signed (Ed25519) by the active entry
key. The integrator (``ledger.integrator``) later gives entries their place in a
global RFC 6962 Merkle tree and signs checkpoints. See docs/audit-ledger.md.
"""

import functools

from django.db import connection, connections, router
from django.db.models import CharField
from django.utils import timezone

from core import prepared
from core.request_id import current_request_id
from ledger.payload import to_jsonable
from ledger.rows import RowUpdate

__all__ = ["HEAD_FIELDS", "record_transition"]


def record_transition(*, entity, transition, from_state, to_state, actor, role, payload=None,
                      save_fields=None):
    """Append the signed audit entry of one transition of ``entity`` and return it.

    With ``save_fields`` (the caller's ``update_fields``, ``HEAD_FIELDS`` included) the
    entity is saved too, as ``entity.save(update_fields=save_fields)`` would: on
    PostgreSQL the entry's INSERT and the entity's UPDATE go to the server as one
    statement (see ``ledger.rows``)."""
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
    # Positional arguments in column order: half the cost of keyword construction.
    entry = AuditEntry(*[values[name] if name in values else field.get_default() for name, field in _entry_columns()])
    if save_fields is None:
        entry.save()
        if keeps_head:
            # Saved by the caller with its transition (see HEAD_FIELDS).
            entity.audit_seq, entity.audit_head = seq, digest
        return entry
    head = (entity.audit_seq, entity.audit_head) if keeps_head else None
    if keeps_head:
        entity.audit_seq, entity.audit_head = seq, digest
    try:
        update = RowUpdate.prepare(entity, save_fields)
        if update is None:
            entry.save()
            entity.save(update_fields=list(save_fields))
        else:
            entry.save(with_update=update)
    except BaseException:
        if keeps_head:
            entity.audit_seq, entity.audit_head = head
        raise
    return entry


@functools.cache
def _entry_columns():
    from ledger.models import AuditEntry

    return [(f.attname, f) for f in AuditEntry._meta.concrete_fields]


# The fields a caller saves after ``record_transition`` on an AuditedModel.
HEAD_FIELDS = ("audit_seq", "audit_head")


_INSERT_SQL = {}
_COMBINED_SQL = {}


def insert_entry(entry, with_update=None) -> int | None:
    """INSERT a new entry with one prepared statement (AuditEntry.save calls it).

    It runs on every transition of the system; building Django's INSERT query cost more
    than the round trip (on PostgreSQL the statement is also prepared server-side, see
    ``core.prepared``). Values go through each field's own ``get_db_prep_save``
    (the same preparation ``Model.save`` applies), and the row is as ``save()`` would
    write it.

    ``with_update`` (a prepared ``RowUpdate`` of the entity) is sent in the same round
    trip on PostgreSQL — ``WITH entry AS (INSERT … RETURNING id), moved AS (UPDATE …
    RETURNING 1) SELECT …`` — and right after the INSERT elsewhere. Returns the number of
    rows the update matched (``None`` without one); the caller finishes the update.
    """
    from ledger.models import AuditEntry

    alias = router.db_for_write(AuditEntry, instance=entry)
    conn = connections[alias]
    key = (conn.vendor, alias)
    cached = _INSERT_SQL.get(key)
    if cached is None:
        fields = [f for f in AuditEntry._meta.concrete_fields if not f.primary_key and f.name != "xact_id"]
        quote = conn.ops.quote_name
        returning = " RETURNING id" if conn.features.can_return_columns_from_insert else ""
        sql = (
            f"INSERT INTO {quote(AuditEntry._meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "
            f"VALUES ({', '.join(['%s'] * len(fields))}){returning}"
        )
        # A plain CharField passes a str through get_db_prep_save unchanged: skip the calls.
        plain = [type(f) is CharField for f in fields]
        cached = _INSERT_SQL[key] = (sql, list(zip(fields, plain, strict=True)), bool(returning))
    sql, fields, returning = cached
    params = []
    for field, plain in fields:
        value = getattr(entry, field.attname)
        params.append(value if plain and type(value) is str else field.get_db_prep_save(value, conn))
    matched = None
    with conn.cursor() as cursor:
        if (
            with_update is not None and with_update.sql is not None and with_update.conn is conn
            and returning and conn.vendor == "postgresql"
        ):
            combined = _COMBINED_SQL.get((sql, with_update.sql))
            if combined is None:
                combined = _COMBINED_SQL[(sql, with_update.sql)] = (
                    f"WITH entry AS ({sql}), moved AS ({with_update.sql} RETURNING 1) "
                    "SELECT (SELECT id FROM entry), (SELECT count(*) FROM moved)"
                )
            prepared.execute(cursor, combined, params + with_update.params)
            entry.pk, matched = cursor.fetchone()
        else:
            prepared.execute(cursor, sql, params)
            entry.pk = cursor.fetchone()[0] if returning else cursor.lastrowid
            if with_update is not None:
                matched = with_update.run()
    entry._state.adding = False
    entry._state.db = alias
    return matched
