"""Signed audit chains for the scale data set, built in worker processes.

This module imports no Django model: ``demo.scale`` forks a pool of workers that run
``sign_chains`` on both cores, after closing its database connections. Each chain is
a copy of a template chain (the documents of entries written by the services) for a
new entity id, optionally followed by state-keeping entries; every entry gets its
exact canonical bytes, its hash chained to the previous entry of the same entity and
an Ed25519 signature by the active entry key — the format of ``ledger.entries``.
"""

import json
from datetime import timedelta

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger.canonical import canonical_bytes, entry_hash, format_time

GENESIS = "0" * 64

# Set in the parent before the pool forks (copied into every worker).
_CONTEXT: dict = {}


def set_context(*, templates, key_id, private_bytes, start, postgres):
    """``templates``: {template key: [entry document, ...]} in chain order."""
    _CONTEXT.update(templates=templates, key_id=key_id, private_bytes=private_bytes,
                    start=start, postgres=postgres, signer=None)


def _signer():
    if _CONTEXT.get("signer") is None:
        _CONTEXT["signer"] = Ed25519PrivateKey.from_private_bytes(_CONTEXT["private_bytes"])
    return _CONTEXT["signer"]


def _copy_text(value) -> str:
    """One field of PostgreSQL's COPY text format."""
    if value is None:
        return "\\N"
    return str(value).replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def sign_chains(job):
    """Build the entries of ``job``: a list of chains ``(template key, entity id,
    remap, extra)`` where ``remap`` maps payload keys to new values (ids of cloned
    rows) and ``extra`` is ``None`` or ``(count, transition, role, actor, payload)``:
    state-keeping entries appended after the copied ones.

    Returns ``(rows, heads)``: the rows in chain order — COPY text lines on PostgreSQL,
    tuples for ``executemany`` elsewhere — and ``[(entity type, entity id, seq, head hash)]``."""
    signer, key_id = _signer(), _CONTEXT["key_id"]
    start, postgres = _CONTEXT["start"], _CONTEXT["postgres"]
    rows, heads = [], []
    for template_key, entity_id, remap, extra in job:
        documents = _CONTEXT["templates"][template_key]
        chain = [GENESIS, 0, start]  # previous hash, seq, moment
        for document in documents:
            payload = document["payload"]
            if remap and isinstance(payload, dict) and remap.keys() & payload.keys():
                payload = {**payload, **{k: v for k, v in remap.items() if k in payload}}
            rows.append(_entry(chain, document, entity_id, payload, signer, key_id, postgres))
        if extra:
            count, transition, role, actor, payload = extra
            state = documents[-1]["to"]
            base = dict(documents[-1], transition=transition, role=role, actor=actor, request_id="")
            base["from"] = base["to"] = state
            rows.extend(_entry(chain, base, entity_id, payload, signer, key_id, postgres) for _ in range(count))
        heads.append((documents[0]["entity_type"], entity_id, chain[1], chain[0]))
    return rows, heads


def _entry(chain, base, entity_id, payload, signer, key_id, postgres):
    """The next entry of ``chain`` ([previous hash, seq, moment], advanced in place)."""
    prev, seq, moment = chain
    seq += 1
    moment = moment + timedelta(microseconds=1)
    document = dict(base, entity_id=entity_id, seq=seq, prev=prev, payload=payload, at=format_time(moment))
    canonical = canonical_bytes(document)
    digest = entry_hash(canonical)
    signature = signer.sign(bytes.fromhex(digest))
    chain[:] = [digest, seq, moment]
    values = (document["entity_type"], entity_id, seq, document["transition"], document["from"],
              document["to"], document["actor"], document["role"], document["request_id"],
              json.dumps(payload, ensure_ascii=False))
    if not postgres:
        return (*values, moment, canonical, prev, digest, key_id, signature)
    text = [_copy_text(v) for v in values]
    text += [document["at"], "\\\\x" + canonical.hex(), prev, digest, key_id, "\\\\x" + signature.hex()]
    return "\t".join(text)
