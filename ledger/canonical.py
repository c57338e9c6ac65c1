"""The signed form of an audit entry (format version 1).

The rules themselves (canonical bytes, hashes, the Merkle tree) live in the standalone
verifier module, so the server and the auditor's offline check cannot drift apart.
"""

import datetime

from ledger.tamkeen_verify import FORMAT_VERSION, canonical_bytes, entry_hash

__all__ = ["FORMAT_VERSION", "canonical_bytes", "entry_document", "entry_hash", "format_time"]


def format_time(moment: datetime.datetime) -> str:
    """UTC with microseconds, always the same width: 2025-03-01T09:30:00.000000Z."""
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def entry_document(*, entity_type, entity_id, seq, transition, from_state, to_state, actor_id,
                   role, request_id, payload, prev_hash, at) -> dict:
    return {
        "v": FORMAT_VERSION,
        "entity_type": entity_type,
        "entity_id": entity_id,
        "seq": seq,
        "transition": transition,
        "from": from_state,
        "to": to_state,
        "actor": actor_id,
        "role": role,
        "request_id": request_id,
        "payload": payload,
        "prev": prev_hash,
        "at": format_time(at),
    }
