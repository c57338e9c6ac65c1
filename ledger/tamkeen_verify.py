#!/usr/bin/env python3
"""Tamkeen's standalone audit-ledger verifier.

Needs only Python 3.11+, its standard library and the ``cryptography`` package (for
Ed25519): no Django, no database. Auditors install it as a package of its own
(``pip install ./verifier``: the ``tamkeen-verify`` command); ``manage.py audit export``
also copies it into every evidence bundle, as a convenience:

    tamkeen-verify BUNDLE_DIR --trust trust.json               # keys, checkpoints, entries, replay
    tamkeen-verify BUNDLE_DIR --trust trust.json --signatures  # ... and every entry signature
    tamkeen-verify BUNDLE_DIR --trust trust.json --update-trust  # then keep the newest checkpoint
    tamkeen-verify --proof PROOF.json --trust trust.json       # one entry's inclusion proof
    tamkeen-verify BUNDLE_DIR --json                           # the report as JSON (also with --proof)

Exit status: 0 when everything holds, 1 when the evidence does not verify (the first bad
item and the reason are printed; a bundle file that differs from its manifest is such
evidence), 2 when the input itself is unusable (missing or malformed files, wrong trust
file).

Each problem found has a stable code (``PROBLEM_CODES``), a message for people, and
what it concerns as separate fields: the entry (entity type and id, sequence number,
database id or bundle line, hash), the entity, a checkpoint or a global index. Tools
match on the code and the fields, never on the message.

The server uses the same functions (canonical bytes, RFC 6962 Merkle tree, the checks)
through ``ledger.entries``, so the rules live in exactly one place.

Bundle layout (a directory):
    manifest.json        format, creation time, counts, SHA-256 of each file, the newest checkpoint and
                         the definitions' hash, signed by a certified checkpoint key
    entries.tsv          one entry a line: CANONICAL<TAB>HASH<TAB>KEY_ID<TAB>SIG<TAB>INDEX<TAB>COLUMNS<TAB>ID
    checkpoints.tsv      one checkpoint a line: CANONICAL<TAB>KEY_ID<TAB>SIG<TAB>CONSISTENCY (base64, comma-separated)
    keys.json            the root public key, and each key: id, purpose, public key (hex), window, certificate
    cosignatures.json    the witnesses' cosignatures, by the SHA-256 of each checkpoint's bytes
    state_machines.json  per entity type: initial state, transitions (sources, targets), the fold of its
                         audited fields
    live_state.json      per entity type and id: the state, chain head and audited fields the server holds
    verify.py            a copy of this file (use your own installed copy: tamkeen-verify)

The auditor's trust file (--trust) holds the root public key, the witnesses and the last
checkpoint verified; without it, keys and checkpoints are taken from the evidence itself.
"""

from __future__ import annotations

import argparse
import base64
import gc
import hashlib
import json
import os
import sys
from bisect import bisect_right
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

FORMAT_VERSION = 1
# Checkpoints of version 2 name their predecessor (prev_size, prev_root).
CHECKPOINT_VERSION = 2
# Time: an entry is never dated after the checkpoint that first covers it by more than
# the clocks of two machines may differ, nor before the previous checkpoint by more than
# the integrator may lag behind (a transaction open that long, or a stopped beat).
MAX_CLOCK_SKEW_SECONDS = 300
MAX_INTEGRATION_LAG_SECONDS = 6 * 3600
BUNDLE_FORMAT = "tamkeen-evidence-bundle/2"
PROOF_FORMAT = "tamkeen-inclusion-proof/1"
ENTRY_FIELDS = (
    "v", "entity_type", "entity_id", "seq", "transition", "from", "to", "actor", "role",
    "request_id", "payload", "prev", "at",
)
# Fields that the server also keeps in queryable columns; they must equal the signed bytes.
COLUMN_FIELDS = tuple(f for f in ENTRY_FIELDS if f != "v")
GENESIS = "0" * 64

if __name__ == "__main__" and sys.path and os.path.realpath(sys.path[0]) == os.path.dirname(os.path.realpath(__file__)):
    # Run in place (python3 ledger/tamkeen_verify.py): the modules beside it (ledger's
    # selectors.py) must not shadow the standard library's when the cores are used.
    sys.path.pop(0)


# --- Canonical bytes and hashes -------------------------------------------------------


def definitions_digest(machines: dict) -> str:
    """The SHA-256 of the state-machine definitions, as the checkpoints sign it."""
    return hashlib.sha256(canonical_bytes(machines)).hexdigest()


def canonical_bytes(document: dict) -> bytes:
    """Sorted keys, compact separators, UTF-8. Decimals must already be strings."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def entry_hash(canonical: bytes) -> str:
    return hashlib.sha256(canonical).hexdigest()


def leaf_hash(entry_hash_hex: str) -> bytes:
    """RFC 6962 leaf: SHA-256(0x00 || leaf data); the leaf data is the entry hash."""
    return hashlib.sha256(b"\x00" + bytes.fromhex(entry_hash_hex)).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 6962 interior node: SHA-256(0x01 || left || right)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


EMPTY_ROOT = hashlib.sha256(b"").digest()


# --- Merkle tree (RFC 6962) -----------------------------------------------------------
# A "frontier" is the list of (size, hash) of the perfect subtrees that make up a tree
# of n leaves, largest first (the binary decomposition of n). It grows like a binary
# counter and gives the root of the whole tree without keeping every leaf.


def frontier_append(frontier: list, leaf: bytes) -> None:
    size, digest = 1, leaf
    while frontier and frontier[-1][0] == size:
        left_size, left = frontier.pop()
        size, digest = left_size + size, node_hash(left, digest)
    frontier.append((size, digest))


def frontier_root(frontier: list) -> bytes:
    if not frontier:
        return EMPTY_ROOT
    digest = frontier[-1][1]
    for _size, left in reversed(frontier[:-1]):
        digest = node_hash(left, digest)
    return digest


def frontier_size(frontier: list) -> int:
    return sum(size for size, _digest in frontier)


def frontier_to_json(frontier: list) -> list:
    return [[size, digest.hex()] for size, digest in frontier]


def frontier_from_json(items: list) -> list:
    return [(int(size), bytes.fromhex(digest)) for size, digest in items]


def merkle_root(leaves: list[bytes]) -> bytes:
    frontier: list = []
    for leaf in leaves:
        frontier_append(frontier, leaf)
    return frontier_root(frontier)


def inclusion_path(leaves: list[bytes], index: int) -> list[bytes]:
    """RFC 6962 audit path of leaf ``index`` in the tree made of ``leaves``."""
    path: list[bytes] = []

    def walk(lo: int, hi: int, target: int) -> bytes:
        n = hi - lo
        if n == 1:
            return leaves[lo]
        k = 1 << ((n - 1).bit_length() - 1)
        if target < lo + k:
            left = walk(lo, lo + k, target)
            path.append(merkle_root(leaves[lo + k:hi]))
            return node_hash(left, path[-1])
        right = walk(lo + k, hi, target)
        path.append(merkle_root(leaves[lo:lo + k]))
        return node_hash(path[-1], right)

    walk(0, len(leaves), index)
    return path


def root_from_inclusion_path(leaf: bytes, index: int, size: int, path: list[bytes]) -> bytes:
    """Recompute the root from a leaf and its audit path (RFC 9162 §2.1.3.2)."""
    if not 0 <= index < size:
        raise ValueError("leaf index outside the tree")
    fn, sn, digest = index, size - 1, leaf
    for sibling in path:
        if sn == 0:
            raise ValueError("audit path too long")
        if fn & 1 or fn == sn:
            digest = node_hash(sibling, digest)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            digest = node_hash(digest, sibling)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ValueError("audit path too short")
    return digest


def _largest_power_of_two_below(n: int) -> int:
    return 1 << ((n - 1).bit_length() - 1)


def subtree_root(lo: int, hi: int, known, leaf) -> bytes:
    """MTH of the leaves [lo, hi): ``known(lo, hi)`` gives a hash already known (or None),
    ``leaf(i)`` the hash of leaf i."""
    found = known(lo, hi)
    if found is not None:
        return found
    if hi - lo == 1:
        return leaf(lo)
    k = _largest_power_of_two_below(hi - lo)
    return node_hash(subtree_root(lo, lo + k, known, leaf), subtree_root(lo + k, hi, known, leaf))


def consistency_proof(old_size: int, new_size: int, known, leaf) -> list[bytes]:
    """RFC 9162 §2.1.4.1 PROOF(m, D[n]): the hashes showing that the tree of ``old_size``
    leaves is a prefix of the tree of ``new_size`` leaves."""
    if not 0 <= old_size <= new_size:
        raise ValueError("the old tree cannot be larger than the new one")
    if old_size in (0, new_size):
        return []
    proof: list[bytes] = []

    def sub(m, lo, hi, complete):
        n = hi - lo
        if m == n:
            if not complete:
                proof.append(subtree_root(lo, hi, known, leaf))
            return
        k = _largest_power_of_two_below(n)
        if m <= k:
            sub(m, lo, lo + k, complete)
            proof.append(subtree_root(lo + k, hi, known, leaf))
        else:
            sub(m - k, lo + k, hi, False)
            proof.append(subtree_root(lo, lo + k, known, leaf))

    sub(old_size, 0, new_size, True)
    return proof


def frontier_lookup(frontier: list):
    """``known`` for ``subtree_root``: the perfect subtrees of a frontier, by range."""
    ranges, start = {}, 0
    for size, digest in frontier:
        ranges[(start, start + size)] = digest
        start += size
    return lambda lo, hi: ranges.get((lo, hi))


def consistency_proof_from_frontier(old_frontier: list, new_leaves: list[bytes]) -> list[bytes]:
    """The consistency proof from the tree ``old_frontier`` describes to that tree with
    ``new_leaves`` appended — without the old leaves (every node the proof needs inside
    the old tree is one of its frontier's subtrees)."""
    old_size = frontier_size(old_frontier)
    known = frontier_lookup(old_frontier)

    def leaf(i):
        if i < old_size:
            raise ValueError(f"leaf {i} of the old tree is not in its frontier")
        return new_leaves[i - old_size]

    return consistency_proof(old_size, old_size + len(new_leaves), known, leaf)


def verify_consistency(old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: list[bytes]) -> bool:
    """RFC 9162 §2.1.4.2: whether ``proof`` shows the old tree is a prefix of the new."""
    if old_size > new_size or old_size < 0:
        return False
    if old_size == new_size:
        return not proof and old_root == new_root
    if old_size == 0:
        return not proof
    if not proof:
        return False
    path = list(proof)
    if old_size & (old_size - 1) == 0:  # an exact power of two: the old root is a node of the new tree
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == old_root and sr == new_root and sn == 0


# --- Keys and signatures --------------------------------------------------------------
# A key id is derived from the key itself (self-certifying): the first 16 bytes of the
# SHA-256 of the raw public key, in hex. Every entry and checkpoint key is certified by
# the ledger's ROOT key, kept offline: a certificate is the root's signature over the
# key's statement (its id, purpose, public key and the moment it becomes active).

KEY_ID_BYTES = 16
CERTIFICATE_TYPE = "tamkeen-key-certificate"
KEY_PURPOSES = ("entry", "checkpoint")


def key_id_for(public_key_hex: str) -> str:
    return hashlib.sha256(bytes.fromhex(public_key_hex)).hexdigest()[:2 * KEY_ID_BYTES]


def key_statement(*, public_key_hex: str, purpose: str, valid_from: str) -> dict:
    """What the root certifies about a key (``valid_from``: a UTC time string)."""
    return {"v": 1, "type": CERTIFICATE_TYPE, "key_id": key_id_for(public_key_hex), "purpose": purpose,
            "public_key": public_key_hex, "valid_from": valid_from}


def ed25519_verify(public_key_hex: str, signature: bytes, message: bytes) -> bool:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_key_hex)).verify(signature, message)
        return True
    except (InvalidSignature, ValueError):
        return False


def certificate_problem(certificate, root_public_key_hex: str) -> str | None:
    """Why ``certificate`` is not a valid certificate by the root ``root_public_key_hex``,
    or None when it is."""
    if not isinstance(certificate, dict):
        return "no certificate"
    statement = certificate.get("statement")
    if not isinstance(statement, dict) or statement.get("type") != CERTIFICATE_TYPE or statement.get("v") != 1:
        return "the certificate has no key statement"
    if certificate.get("root_key_id") != key_id_for(root_public_key_hex):
        return f"certified by root {certificate.get('root_key_id')!r}, not by the pinned root {key_id_for(root_public_key_hex)}"
    try:
        signature = base64.b64decode(certificate.get("signature", ""), validate=True)
        public_key = statement["public_key"]
        derived = key_id_for(public_key)
    except (ValueError, TypeError, KeyError):
        return "the certificate is malformed"
    if statement.get("key_id") != derived:
        return "the certified key id is not derived from the certified public key"
    if statement.get("purpose") not in KEY_PURPOSES or parse_time_or_none(statement.get("valid_from")) is None:
        return "the certificate is malformed"
    if not ed25519_verify(root_public_key_hex, signature, canonical_bytes(statement)):
        return "the root's signature on the certificate does not verify"
    return None


def parse_time_or_none(text):
    try:
        moment = parse_time(text)
    except (TypeError, ValueError, AttributeError):
        return None
    return moment if moment is not None and moment.tzinfo is not None else None



def parse_time(text: str | None) -> datetime | None:
    if text in (None, ""):
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@dataclass
class PublicKey:
    key_id: str
    purpose: str
    public_hex: str
    valid_from: datetime
    valid_until: datetime | None
    certificate: dict | None = None
    _verifier: object = field(default=None, repr=False)

    @classmethod
    def from_json(cls, item: dict) -> PublicKey:
        return cls(
            key_id=item["id"], purpose=item["purpose"], public_hex=item["public_key"],
            valid_from=parse_time(item["valid_from"]), valid_until=parse_time(item.get("valid_until")),
            certificate=item.get("certificate"),
        )

    def trust_problem(self, root_public_key_hex: str) -> str | None:
        """Why this key must not be trusted under the root, or None: its id must be
        derived from its public key, and its certificate must say the same id, purpose,
        public key and start as the key list."""
        try:
            if self.key_id != key_id_for(self.public_hex):
                return "its id is not derived from its public key (replaced public key?)"
        except ValueError:
            return "its public key is malformed"
        why = certificate_problem(self.certificate, root_public_key_hex)
        if why:
            return why
        statement = self.certificate["statement"]
        if (statement["key_id"], statement["purpose"], statement["public_key"]) != (
                self.key_id, self.purpose, self.public_hex):
            return "its certificate is for another key or purpose"
        if parse_time(statement["valid_from"]) != self.valid_from:
            return "its window starts earlier or later than its certificate says"
        return None

    def covers(self, moment: datetime) -> bool:
        return self.valid_from <= moment and (self.valid_until is None or moment < self.valid_until)

    def verify(self, signature: bytes, message: bytes) -> bool:
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

        if self._verifier is None:
            self._verifier = Ed25519PublicKey.from_public_bytes(bytes.fromhex(self.public_hex))
        try:
            self._verifier.verify(signature, message)
            return True
        except InvalidSignature:
            return False


# --- The verification itself ------------------------------------------------------------


@dataclass(slots=True)
class EntryRecord:
    """One entry as exported (or read from the database)."""

    canonical: bytes
    hash: str
    key_id: str
    signature: bytes  # raw, or base64 when read from a bundle (see signature_bytes)
    index: int | None
    columns: bytes | None = None  # canonical JSON of the queryable columns, if kept
    entry_id: int | None = None  # its database id, when read from the database
    line: int | None = None  # its line in entries.tsv, when read from a bundle
    signature_is_base64: bool = False

    def signature_bytes(self) -> bytes:
        return base64.b64decode(self.signature) if self.signature_is_base64 else self.signature

    @property
    def locator(self) -> str:
        """How to find it (database id or bundle line), as text for reports."""
        if self.entry_id is not None:
            return f"id {self.entry_id}"
        return f"line {self.line}" if self.line is not None else ""


@dataclass
class CheckpointRecord:
    canonical: bytes
    key_id: str
    signature: bytes
    consistency: list[bytes] = field(default_factory=list)  # the proof from the previous checkpoint
    columns: tuple | None = None  # (size, root) as the database's columns show them, when read from it


# The stable codes of the problems the verifier reports, and what each means.
PROBLEM_CODES = {
    # One key (detail: key_id).
    "key_untrusted": "a key whose id is not derived from it or that the root did not certify (detail: key_id)",
    # One entry (entity type and id, seq, entry id or line, hash).
    "entry_not_json": "the stored bytes are not valid JSON",
    "entry_fields_missing": "the stored bytes do not have the entry fields",
    "entry_field_type": "the stored bytes have entry fields of the wrong type",
    "unknown_format_version": "the entry's format version is unknown",
    "not_canonical": "the stored bytes are not in canonical form",
    "columns_not_json": "the exported columns are not valid JSON",
    "column_differs": "a queryable column differs from the signed bytes (detail: column)",
    "hash_mismatch": "the entry hash does not match its bytes (edited)",
    "unknown_key": "signed by a key that is not an entry key of the ledger (detail: key_id)",
    "outside_key_window": "signed at a time outside its key's validity window (detail: key_id)",
    "bad_signature": "the signature does not verify",
    "index_reused": "a global index is used by two entries (index)",
    "seq_gap": "a previous entry of the chain is missing (detail: expected_seq)",
    "seq_out_of_order": "a sequence number is repeated or out of order (detail: expected_seq)",
    "prev_mismatch": "the previous-entry hash does not match the chain (inserted, deleted or reordered)",
    "state_machine": "the transition breaks the entity's state machine",
    "time_backwards": "the entry is dated before the previous entry of its chain (detail: previous_at)",
    "entry_after_checkpoint": "the entry is dated after the checkpoint that first covers it (backdated "
                              "checkpoint or forward-dated entry; detail: checkpoint_size)",
    "entry_backdated": "the entry is dated long before the checkpoint preceding the one that first covers it "
                       "(detail: checkpoint_size)",
    # One entity (entity type and id).
    "live_state_mismatch": "the live state differs from the state the chain ends in (detail: live, replayed)",
    "live_head_mismatch": "the chain head the live row keeps (audit_seq, audit_head) is not the chain's last entry: "
                          "entries were cut off the chain's end, or written without the row (detail: field "
                          "'seq' or 'head', live, replayed)",
    "live_field_mismatch": "an audited field of the live row differs from the value its chain's entries give it "
                           "(the first such field; detail: field, live, replayed)",
    "orphan_chain": "an audit chain whose entity does not exist",
    # The global Merkle tree (index).
    "index_gap": "a global index is missing (an entry was deleted)",
    # One checkpoint (checkpoint size and time).
    "checkpoint_malformed": "the stored bytes are not a checkpoint",
    "checkpoint_unknown_key": "the checkpoint is signed by an unknown key (detail: key_id)",
    "checkpoint_outside_key_window": "the checkpoint is signed outside its key's window (detail: key_id)",
    "checkpoint_bad_signature": "the checkpoint's signature does not verify",
    "checkpoint_fork": "another checkpoint of the same size has a different root",
    "checkpoint_misdated": "the checkpoint is dated before a smaller one",
    "checkpoint_truncated": "the checkpoint covers more entries than the ledger holds",
    "checkpoint_leaf_missing": "a global index the checkpoint covers is missing (index)",
    "checkpoint_root_mismatch": "the Merkle root does not match the entries the checkpoint covers",
    "checkpoint_column_differs": "a checkpoint's size or root column differs from its signed bytes",
    "checkpoint_chain_broken": "the checkpoint does not name the previous checkpoint as its predecessor "
                               "(a checkpoint was deleted or rebuilt; detail: prev_size, expected_size)",
    "checkpoint_inconsistent": "the consistency proof from the previous checkpoint does not verify",
    # The checkpoint the auditor kept (trust file).
    "manifest_unsigned": "the bundle's manifest is not signed by a certified checkpoint key",
    "manifest_count_mismatch": "the manifest's entry count or newest checkpoint differs from the bundle's files",
    "definitions_mismatch": "the state machines checked against are not those the newest checkpoint signs",
    "checkpoint_not_witnessed": "the newest checkpoint lacks the witnesses' cosignatures the trust file requires",
    "trusted_checkpoint_missing": "the ledger is smaller than the checkpoint kept in the trust file (rolled back)",
    "trusted_checkpoint_mismatch": "the ledger's first entries no longer give the root of the checkpoint kept in "
                                   "the trust file (history rewritten, or a fork)",
    # An inclusion proof.
    "proof_format": "not a Tamkeen inclusion proof",
    "proof_malformed": "the proof is malformed",
    "proof_path_invalid": "the audit path does not lead to the checkpoint's root",
}


@dataclass
class Problem:
    """One thing found wrong: a stable ``code`` (PROBLEM_CODES), the ``message`` for
    people, and what it concerns as fields. ``where`` and ``str()`` are text for people."""

    code: str
    message: str
    entity_type: str | None = None
    entity_id: str | None = None
    seq: int | None = None
    entry_id: int | None = None  # database id (verifying the database)
    line: int | None = None  # entries.tsv line (verifying a bundle)
    entry_hash: str | None = None
    checkpoint_size: int | None = None
    checkpoint_at: str | None = None
    index: int | None = None  # global (Merkle tree) index
    detail: dict = field(default_factory=dict)

    @property
    def where(self) -> str:
        if self.code in _ENTRY_CODES:
            located = (f" (id {self.entry_id})" if self.entry_id is not None
                       else f" (line {self.line})" if self.line is not None else "")
            if self.entity_type is not None:
                return f"entry {self.entity_type}#{self.entity_id} seq {self.seq}{located}"
            return f"entry {(self.entry_hash or '')[:16]}{located}"
        if self.entity_type is not None:
            return f"entity {self.entity_type}#{self.entity_id}"
        if self.checkpoint_size is not None:
            at = f" at {self.checkpoint_at}" if self.checkpoint_at else ""
            return f"checkpoint size {self.checkpoint_size}{at}"
        if self.code == "key_untrusted":
            return f"key {self.detail.get('key_id')}"
        if "checkpoint_number" in self.detail:
            return f"checkpoint #{self.detail['checkpoint_number']}"
        if self.index is not None:
            return f"global index {self.index}"
        return ""

    def __str__(self):
        where = self.where
        return f"{where}: {self.message}" if where else self.message

    def as_dict(self) -> dict:
        """The problem as JSON-ready data: every field that is set, and ``where``."""
        data = {name: getattr(self, name) for name in self.__dataclass_fields__}
        data = {name: value for name, value in data.items() if value not in (None, {})}
        data["where"] = self.where
        return data

    @classmethod
    def of_entry(cls, code: str, message: str, record: EntryRecord, doc: dict | None = None,
                 **detail) -> Problem:
        problem = cls(code, message, entry_id=record.entry_id, line=record.line, entry_hash=record.hash,
                      detail=detail)
        if doc is not None:
            problem.entity_type, problem.entity_id = doc.get("entity_type"), doc.get("entity_id")
            problem.seq = doc.get("seq")
        return problem


_ENTRY_CODES = frozenset([
    "entry_not_json", "entry_fields_missing", "entry_field_type", "unknown_format_version", "not_canonical",
    "columns_not_json", "column_differs", "hash_mismatch", "unknown_key", "outside_key_window",
    "bad_signature", "index_reused", "seq_gap", "seq_out_of_order", "prev_mismatch", "state_machine",
    "proof_path_invalid", "time_backwards", "entry_after_checkpoint", "entry_backdated",
])


@dataclass
class Report:
    entries: int = 0
    chains: int = 0
    checkpoints: int = 0
    signatures_checked: int = 0
    signatures_known: int = 0  # skipped: checked by an earlier verification (``known_signatures``)
    uncheckpointed: int = 0
    unindexed: int = 0  # entries without a global index yet
    problems: list[Problem] = field(default_factory=list)
    # Where the root key and the checkpoint to compare with came from: "trust file" (the
    # auditor's own), "configuration" (the server's settings) or "evidence" (the bundle).
    trust: str = "evidence"
    newest_checkpoint: dict | None = None  # for updating a trust file
    keys: list = field(default_factory=list, repr=False)
    # A verification of what is new only: the checkpoint it started from ({"size", "root",
    # "chains": how many chains were replayed}).
    since: dict | None = None

    @property
    def ok(self) -> bool:
        return not self.problems

    def add(self, problem: Problem) -> None:
        self.problems.append(problem)

    def as_dict(self) -> dict:
        return {
            "ok": self.ok, "entries": self.entries, "chains": self.chains, "checkpoints": self.checkpoints,
            "signatures_checked": self.signatures_checked, "uncheckpointed": self.uncheckpointed,
            "trust": self.trust, "problems": [problem.as_dict() for problem in self.problems],
            **({"since": self.since} if self.since else {}),
        }

    def summary(self) -> str:
        lines = [
            f"entries: {self.entries}  chains: {self.chains}  checkpoints: {self.checkpoints}  "
            f"signatures checked: {self.signatures_checked}  not yet in a checkpoint: {self.uncheckpointed}"
        ]
        if self.since:
            lines.append(f"only what is new since the checkpoint of size {self.since['size']}: its leaves gave its "
                         f"root; the {self.since['chains']} chain(s) with a newer entry were checked whole; the "
                         "others rely on the earlier verification")
        if self.trust != "trust file":
            lines.append(f"NOTE: the root key and checkpoints were taken from the {self.trust} itself: this proves "
                         "the evidence is self-consistent, not that its administrator did not rewrite it. "
                         "Verify with --trust FILE (the trust file you keep) for that.")
        if self.ok:
            lines.append("ledger intact")
        else:
            lines.append(f"LEDGER NOT INTACT: {len(self.problems)} problem(s); first: {self.problems[0]}")
            lines += [f"  - [{p.code}] {p}" for p in self.problems[:20]]
            if len(self.problems) > 20:
                lines.append(f"  ... and {len(self.problems) - 20} more")
        return "\n".join(lines)


class StateMachines:
    """The state machines of a bundle, read into the form ``ChainReplay`` walks."""

    def __init__(self, definitions: dict):
        self.machines = {}
        for entity_type, spec in definitions.items():
            moves = {}
            for t in spec["transitions"]:
                moves[t["name"]] = (set(t["sources"]), set(t["targets"]))
            restores = spec.get("restores", {})
            # The last source of only the transitions a restore returns to is remembered.
            self.machines[entity_type] = (spec["initial"], moves, restores, set(spec.get("keeps_state", ())),
                                          frozenset(restores.values()))


class ChainReplay:
    """The replay of one chain, one entry at a time (entries arrive in insertion order)."""

    __slots__ = ("machine", "state", "remembered", "started")

    def __init__(self, machine):
        self.machine = machine  # (initial, moves, restores, keeps, remembered transitions) or None
        self.state = ""
        self.remembered = None  # {transition: its last source}, for those a restore returns to
        self.started = False

    def step(self, transition: str, source: str, target: str) -> str | None:
        """Apply one move; None if allowed, else why not. The state follows the entry."""
        why = self._why(transition, source, target)
        if self.machine is not None and transition in self.machine[4]:
            if self.remembered is None:
                self.remembered = {}
            self.remembered[transition] = source
        self.state, self.started = target, True
        return why

    def _why(self, transition, source, target):
        if self.machine is None:
            return "no state machine is defined for this entity type"
        initial, moves, restores, keeps, _remembered = self.machine
        if not self.started:
            if transition != "create" or source != "" or target != initial:
                return f"a chain must start with create → {initial}"
            return None
        move = moves.get(transition)
        if move is None:
            return f"unknown transition {transition!r}"
        sources, targets = move
        if source != self.state:
            return f"{transition} starts from {source!r} but the entity was {self.state!r}"
        if "*" not in sources and source not in sources:
            return f"{transition} is not allowed from {source!r}"
        if target not in targets:
            return f"{transition} cannot lead to {target!r}"
        if transition in keeps and target != source:
            return f"{transition} records an act and cannot change the state"
        if transition in restores:
            remembered = (self.remembered or {}).get(restores[transition])
            if target != remembered:
                return f"{transition} must return to {remembered!r}, not {target!r}"
        return None


def verify_ledger(
    entries: Iterable[EntryRecord],
    checkpoints: Iterable[CheckpointRecord],
    keys: list[PublicKey],
    machines: dict,
    live_state: dict | None,
    *,
    check_signatures: bool = False,
    progress=None,
    stop_after: int = 200,
    root_public_key: str | None = None,
    trust: str = "evidence",
    trusted_checkpoint: dict | None = None,
    max_skew: float = MAX_CLOCK_SKEW_SECONDS,
    max_lag: float = MAX_INTEGRATION_LAG_SECONDS,
    signature_workers: int = 1,
    signature_threads: bool = False,
    known_signatures: frozenset = frozenset(),
    since: SinceCheckpoint | None = None,
    leaves: Iterable[tuple] | None = None,
    live_rows: LiveRows | None = None,
) -> Report:
    """Check a whole ledger; problems name the entry. ``entries`` come in insertion order
    (the database's id order, which the export keeps): each chain is walked as they arrive.

    The loop is written for a million entries on one core: one JSON parse and one
    SHA-256 per entry, byte comparisons instead of re-encoding where the exported
    columns allow it, timestamps compared as fixed-width UTC strings.

    Memory does not grow with the number of entries: the Merkle tree is a frontier fed in
    index order (``TreeWalk``), each checkpoint's root is taken when the frontier reaches
    its size, and what is kept is one small record per chain (and per checkpoint).
    ``signature_workers`` > 1 checks the signatures (``check_signatures``) on that many
    processes, in batches, while the loop goes on (on that many threads with
    ``signature_threads``: for one chain verified inside a server process, where forking
    is not wanted; the Ed25519 checks run outside Python's lock, so threads use the cores).

    ``known_signatures``: the ids of entries (``EntryRecord.entry_id``) whose signature the
    caller knows to be good, unchanged since it was checked (the server's sealed record of
    an earlier verification): their Ed25519 check is skipped and counted apart
    (``Report.signatures_known``); every other check of them is made.

    ``since`` (``SinceCheckpoint``): check only what is new after an earlier, verified
    checkpoint — ``entries`` are then those of the chains with an entry after it (each
    chain whole), ``checkpoints`` those after it; the tree starts from its frontier.

    Chain by chain (the database): with ``live_rows`` (``LiveRows``) instead of
    ``live_state``, ``entries`` come grouped by chain (each chain's entries together, in
    insertion order), and ``leaves`` gives the tree's leaves ((index, entry hash, entry
    id), in index order) in a pass of its own. Each chain is then compared with its live
    row as soon as the next one starts and forgotten, so memory does not grow with the
    number of chains either. The checks, and the order of the problems, are those of an
    insertion-order walk (``ChainOrder``).
    """
    report = Report(trust=trust)
    if root_public_key is not None:
        keys = trusted_keys(keys, root_public_key, report)
    report.keys = keys
    keys_by_id = {k.key_id: k for k in keys}
    windows = {
        k.key_id: (k.purpose, _format_time(k.valid_from), _format_time(k.valid_until) if k.valid_until else None)
        for k in keys
    }
    machines_by_type = StateMachines(machines).machines
    folds = compile_folds(machines)
    unknown = UNKNOWN
    scan = json.JSONDecoder().scan_once  # the C scanner, without the whitespace regexes
    sha256 = hashlib.sha256
    # (entity_type, entity_id) -> [last seq, last hash, ChainReplay, last time, folded values,
    # the fold's rules by transition] (the last two None for a machine without a fold)
    chains: dict = {}
    checkpoints = list(checkpoints)
    covering = _time_bounds(checkpoints + ([since.record] if since else []), max_skew, max_lag)
    covering_sizes = [bound[0] for bound in covering]
    tree = TreeWalk(_checkpoint_sizes(checkpoints, trusted_checkpoint), since)
    signatures = (SignaturePool(keys, signature_workers, threads=signature_threads)
                  if check_signatures and signature_workers > 1 else None)
    problems = report.problems
    entry_keys, suffix, genesis = _ENTRY_KEYS, _VERSION_SUFFIX, GENESIS

    def bad(problem: Problem):
        if len(problems) < stop_after:
            report.add(problem)

    entry_problem = Problem.of_entry
    ordered = None
    if live_rows is not None:
        # Problems are found chain by chain but reported in the order of a walk in
        # insertion order: each is ranked, and only the first ``stop_after`` are kept.
        ordered = ChainOrder(max(0, stop_after - len(problems)))
        bad = ordered.add
        retired = ChainRetirement(live_rows, folds, ordered)

    count = 0
    collecting = gc.isenabled()
    gc.disable()  # millions of short-lived objects and no cycles: the collector only costs
    try:
        for record in entries:
            count += 1
            if ordered is not None:
                ordered.at_entry(record, count)
            canonical = record.canonical
            try:
                text = canonical.decode("utf-8")
                doc, end = scan(text, 0)
                if end != len(text):
                    raise ValueError("trailing bytes")
            except (ValueError, UnicodeDecodeError, StopIteration):
                bad(entry_problem("entry_not_json", "stored bytes are not valid JSON", record))
                continue
            if type(doc) is not dict or doc.keys() != entry_keys:
                bad(entry_problem("entry_fields_missing", "stored bytes do not have the entry fields", record))
                continue
            entity_type, entity_id, transition, source, target, prev, at = (
                doc["entity_type"], doc["entity_id"], doc["transition"], doc["from"], doc["to"], doc["prev"],
                doc["at"],
            )
            if not (type(entity_type) is type(entity_id) is type(transition) is type(source) is type(target)
                    is type(prev) is type(at) is str):
                bad(entry_problem("entry_field_type", "stored bytes have entry fields of the wrong type", record))
                continue
            columns = record.columns
            if columns is None or canonical != columns[:-1] + suffix:
                _check_entry_form(record, doc, bad)
            digest = record.hash
            if sha256(canonical).hexdigest() != digest:
                bad(entry_problem("hash_mismatch", "entry hash does not match its bytes (edited)", record, doc))
            window = windows.get(record.key_id)
            if window is None or window[0] != "entry":
                bad(entry_problem("unknown_key", f"signed by unknown key {record.key_id!r}", record, doc,
                                  key_id=record.key_id))
            elif at < window[1] or (window[2] is not None and at >= window[2]):
                bad(entry_problem("outside_key_window", f"signed at {at} outside the window of key {record.key_id}",
                                  record, doc, key_id=record.key_id))
            elif known_signatures and record.entry_id in known_signatures:
                report.signatures_known += 1
            elif signatures is not None:
                signatures.add(record, doc)
            elif check_signatures:
                report.signatures_checked += 1
                if not keys_by_id[record.key_id].verify(record.signature_bytes(), bytes.fromhex(digest)):
                    bad(entry_problem("bad_signature", "signature does not verify", record, doc))
            index = record.index
            if index is None:
                report.unindexed += 1
            else:
                if leaves is None and not tree.add(index, digest):
                    problem = entry_problem("index_reused", f"global index {index} is used twice", record, doc)
                    problem.index = index
                    bad(problem)
                if covering_sizes:
                    _check_time(index, at, covering, bisect_right(covering_sizes, index), record, doc, bad)
            # The chain, walked as entries arrive (the export and the database give them in
            # insertion order, and an entity's entries are inserted in sequence order).
            chain = chains.get((entity_type, entity_id))
            if chain is None:
                if ordered is not None and chains:
                    retired.add(chains)  # the chains before this one are complete
                fold = folds.get(entity_type)
                chain = chains[(entity_type, entity_id)] = [
                    0, genesis, ChainReplay(machines_by_type.get(entity_type)), "",
                    [unknown] * len(fold[0]) if fold else None, fold[1] if fold else None, None,
                    ordered.position if ordered is not None else None,
                ]
            seq = doc["seq"]
            if seq != chain[0] + 1:
                code, reason = (("seq_gap", "a previous entry is missing") if type(seq) is int and seq > chain[0] + 1
                                else ("seq_out_of_order", "sequence number repeated or out of order"))
                bad(entry_problem(code, f"expected seq {chain[0] + 1}: {reason}", record, doc,
                                  expected_seq=chain[0] + 1))
            if prev != chain[1]:
                if chain[6] is not None and not check_signatures:
                    # The link breaks here: was the previous entry rehashed by someone
                    # without the key? Its signature says which of the two is at fault.
                    _blame_previous(chain[6], keys_by_id, bad)
                bad(entry_problem("prev_mismatch",
                                  "previous-entry hash does not match the chain (inserted, deleted or reordered)",
                                  record, doc))
            if at < chain[3]:
                bad(entry_problem("time_backwards", f"dated {at}, before the chain's previous entry ({chain[3]})",
                                  record, doc, previous_at=chain[3]))
            else:
                chain[3] = at
            why = chain[2].step(transition, source, target)
            if why:
                bad(entry_problem("state_machine", f"state machine: {why}", record, doc))
            if chain[5] is not None:  # the audited fields this transition sets
                rules = chain[5].get(transition)
                if rules is not None:
                    fold_entry(chain[4], rules, doc)
            if type(seq) is int and seq > chain[0]:
                chain[0] = seq
            chain[1] = digest
            chain[6] = (record.key_id, record.signature, record.signature_is_base64, digest, record.entry_id,
                        record.line, entity_type, entity_id, seq)
            if progress and count % 10000 == 0:
                progress(count)
        if signatures is not None:
            report.signatures_checked, found = signatures.finish()
            if ordered is not None:
                ordered.phase = ChainOrder.SIGNATURES
            for problem in found:
                bad(problem)
        if leaves is not None:
            if ordered is not None:
                ordered.phase = ChainOrder.ENTRIES
            for index, digest, entry_id in leaves:
                if not tree.add(index, digest):
                    if ordered is not None:
                        ordered.at_leaf(entry_id)
                    bad(Problem("index_reused", f"global index {index} is used twice", entry_id=entry_id,
                                entry_hash=digest, index=index))
    finally:
        if signatures is not None:
            signatures.close()
        if collecting:
            gc.enable()
    report.entries = count
    if ordered is not None:
        retired.add(chains)
        retired.finish()
        report.chains = retired.count
        problems.extend(ordered.ranked())
        return _finish_verification(report, checkpoints, tree, keys_by_id, machines, trusted_checkpoint, since,
                                    stop_after)
    for key, chain in chains.items():
        # Keep only what the live rows are compared with: the replayed state, the chain
        # head (last seq and entry hash) and the folded fields.
        chains[key] = (chain[2].state if chain[2].started else None, chain[0], chain[1], chain[4])
    report.chains = len(chains)

    if live_state is not None:
        for entity_type, rows in live_state.items():
            fields = folds[entity_type][0] if entity_type in folds else ()
            for entity_id, live in rows.items():
                problem = live_problem(entity_type, str(entity_id), live, chains.get((entity_type, str(entity_id))),
                                       fields)
                if problem is not None:
                    bad(problem)
        for (entity_type, entity_id) in chains:
            if entity_type in live_state and entity_id not in live_state[entity_type]:
                bad(Problem("orphan_chain", "has an audit chain but does not exist",
                            entity_type=entity_type, entity_id=entity_id))

    return _finish_verification(report, checkpoints, tree, keys_by_id, machines, trusted_checkpoint, since,
                                stop_after)


def _finish_verification(report, checkpoints, tree, keys_by_id, machines, trusted_checkpoint, since, stop_after):
    """The checks after the entries: the checkpoints, the definitions, the kept checkpoint."""
    problems = report.problems

    def bad(problem: Problem):
        if len(problems) < stop_after:
            report.add(problem)

    tree.finish()
    _verify_checkpoints(checkpoints, tree, keys_by_id, report, bad, since)
    _verify_definitions(checkpoints + ([since.record] if since else []), machines, bad)
    if trusted_checkpoint is not None:
        _verify_trusted_checkpoint(trusted_checkpoint, tree, report, bad)
    return report


def _checkpoint_sizes(checkpoints, trusted_checkpoint) -> set:
    """The tree sizes whose root the verification compares: every checkpoint's, and the
    kept one's."""
    sizes = set()
    for record in checkpoints:
        try:
            sizes.add(int(json.loads(record.canonical)["size"]))
        except (ValueError, KeyError, TypeError):
            continue  # reported by the checkpoint checks
    if trusted_checkpoint is not None:
        sizes.add(int(trusted_checkpoint["size"]))
    return sizes


@dataclass
class SinceCheckpoint:
    """Where a verification ``--since`` starts: an earlier checkpoint (its record, size,
    root and time) and the frontier of the tree of that size, computed from its leaves."""

    record: CheckpointRecord
    size: int
    root: str
    at: datetime
    frontier: list


class TreeWalk:
    """The global Merkle tree, fed leaf by leaf as entries arrive (in id order, which is
    nearly the index order: an entry committed late is integrated after later ids). A
    leaf that arrives before its turn waits in ``pending`` until the leaves before it
    have come, so memory holds the frontier (log n hashes), the early leaves (a few in
    an intact ledger; every leaf after a hole in one with a hole) and the root at each
    wanted size."""

    __slots__ = ("frontier", "position", "pending", "roots", "wanted", "indexed", "start")

    def __init__(self, wanted_sizes, since: SinceCheckpoint | None = None):
        self.frontier: list = list(since.frontier) if since else []
        self.start = self.position = since.size if since else 0
        self.pending: dict[int, bytes] = {}
        self.wanted = {size for size in wanted_sizes if size > self.position}
        self.roots: dict[int, str] = {self.position: frontier_root(self.frontier).hex()} if since else {}
        self.indexed = self.position  # distinct indices seen (those before ``since`` counted)

    def add(self, index: int, digest: str) -> bool:
        """Add the leaf of the entry hash ``digest`` at ``index``; False when the index
        was given already."""
        return self.add_leaf(index, leaf_hash(digest))

    def add_leaf(self, index: int, leaf: bytes) -> bool:
        if index < self.start:
            return True  # verified before (``since``): not in the tree walked here
        if index < self.position or index in self.pending:
            return False
        self.indexed += 1
        if index != self.position:
            self.pending[index] = leaf
            return True
        self._append(leaf)
        pending = self.pending
        while pending and self.position in pending:
            self._append(pending.pop(self.position))
        return True

    def _append(self, leaf: bytes) -> None:
        frontier_append(self.frontier, leaf)
        self.position += 1
        if self.position in self.wanted:
            self.roots[self.position] = frontier_root(self.frontier).hex()

    def finish(self) -> None:
        self.pending.clear()  # after a hole: their roots cannot be computed

    def root_at(self, size: int) -> str | None:
        """The root of the tree's first ``size`` leaves, when they all came (and the size
        was wanted)."""
        return self.roots.get(size)


# --- The live rows: state, chain head and folded fields ----------------------------------
# ``live_state`` (live_state.json) holds, per entity type and id, what the server's row
# holds now: {"state", "seq", "head", <folded field>...} ("seq" and "head": the chain head
# the row keeps; a bare state string is read as {"state": ...} and compared alone). A
# machine's "fold" (state_machines.json) says which of its fields the chain determines:
# [{"field", "kind", "set": {transition: source}}], a source being {"payload": [key,
# ...]} (optionally with "missing": "keep"), {"actor": true}, {"value": v} or
# {"entry": "from"}. Each entry's transition sets the fields it lists, from the payload
# the loop has parsed anyway: O(1) per entry, no other parsing. A field no entry has set
# yet (or whose payload lacked the key) is unknown and not compared.

FOLD_KINDS = frozenset(["text", "id", "decimal", "json", "date", "datetime"])


class _Unknown:
    __slots__ = ()

    def __repr__(self):
        return "<unknown>"


UNKNOWN = _Unknown()
_FROM_PAYLOAD, _FROM_ACTOR, _FROM_VALUE, _FROM_ENTRY = range(4)
_MISSING = object()


def compile_folds(machines: dict) -> dict:
    """{entity type: (((field, kind), ...), {transition: ((slot, source, argument, keep), ...)})}
    for every machine with a fold. Raises BundleError when a fold is malformed."""
    compiled = {}
    for entity_type, spec in machines.items():
        folds = spec.get("fold") if isinstance(spec, dict) else None
        if not folds:
            continue
        fields, rules = [], {}
        try:
            for slot, item in enumerate(folds):
                name, kind = item["field"], item["kind"]
                if not isinstance(name, str) or kind not in FOLD_KINDS or name in ("state", "seq", "head"):
                    raise ValueError(f"field {name!r} of kind {kind!r}")
                fields.append((name, kind))
                for transition, source in item["set"].items():
                    rules.setdefault(transition, []).append((slot, *_fold_source(source)))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise BundleError(f"the fold of the state machine {entity_type!r} is malformed: {exc}") from None
        compiled[entity_type] = (tuple(fields), {name: tuple(items) for name, items in rules.items()})
    return compiled


def _fold_source(source: dict) -> tuple:
    if "payload" in source:
        path = tuple(source["payload"])
        if not path or not all(isinstance(key, str) for key in path) or source.get("missing", "unknown") not in (
                "keep", "unknown"):
            raise ValueError(f"payload source {source!r}")
        return _FROM_PAYLOAD, path, source.get("missing") == "keep"
    if source.get("actor") is True:
        return _FROM_ACTOR, None, False
    if "value" in source:
        return _FROM_VALUE, source["value"], False
    if source.get("entry") in ("from", "to"):
        return _FROM_ENTRY, source["entry"], False
    raise ValueError(f"source {source!r}")


def fold_entry(values: list, rules: tuple, doc: dict) -> None:
    """Set the folded ``values`` of one chain from one entry (its parsed ``doc``)."""
    for slot, source, argument, keep in rules:
        if source == _FROM_PAYLOAD:
            found = doc["payload"]
            for key in argument:
                found = found.get(key, _MISSING) if type(found) is dict else _MISSING
                if found is _MISSING:
                    break
            if found is not _MISSING:
                values[slot] = found
            elif not keep:
                values[slot] = UNKNOWN
        elif source == _FROM_ACTOR:
            values[slot] = doc["actor"]
        elif source == _FROM_VALUE:
            values[slot] = argument
        else:
            values[slot] = doc[argument]


def fold_equal(kind: str, live, replayed) -> bool:
    """Whether a live value is the one the chain gives (decimals by value, ids as text)."""
    if live == replayed and type(live) is type(replayed):
        return True
    if live is None or replayed is None or isinstance(live, bool) or isinstance(replayed, bool):
        return False
    if kind == "decimal" and isinstance(live, (str, int)) and isinstance(replayed, (str, int)):
        from decimal import Decimal, InvalidOperation

        try:
            return Decimal(live) == Decimal(replayed)
        except (InvalidOperation, ValueError):
            return False
    if kind == "id":
        return isinstance(live, (str, int)) and isinstance(replayed, (str, int)) and str(live) == str(replayed)
    return False


def live_problem(entity_type: str, entity_id: str, live, chain: tuple | None, fields: tuple) -> Problem | None:
    """The first difference between an entity's live row and its chain, or None: the
    state (or no chain at all), then the chain head, then the first folded field, in
    the fold's order. ``chain``: (replayed state, last seq, last hash, folded values)."""
    where = {"entity_type": entity_type, "entity_id": entity_id}
    state = live.get("state") if type(live) is dict else live
    if chain is None:
        return Problem("live_state_mismatch", f"live state {state!r} but the entity has no audit chain "
                                              "(created without an entry, or its chain was removed)",
                       **where, detail={"live": state, "replayed": None})
    if chain[0] != state:
        return Problem("live_state_mismatch", f"live state {state!r} but the audit chain ends in {chain[0]!r} "
                                              "(state changed without an entry, or the chain's tail is missing)",
                       **where, detail={"live": state, "replayed": chain[0]})
    if type(live) is not dict:
        return None  # a bare state: nothing more to compare
    for name, replayed in (("seq", chain[1]), ("head", chain[2])):
        value = live.get(name)
        if value != replayed or type(value) is not type(replayed):
            return Problem("live_head_mismatch",
                           f"the row's chain head has {name} {value!r} but the chain's last entry has {replayed!r} "
                           "(entries cut off the chain's end, or written without the row)",
                           **where, detail={"field": name, "live": value, "replayed": replayed})
    values = chain[3] or ()
    for slot, (name, kind) in enumerate(fields[:len(values)]):
        replayed = values[slot]
        if replayed is UNKNOWN:
            continue
        value = live.get(name)
        if not fold_equal(kind, value, replayed):
            return Problem("live_field_mismatch",
                           f"live {name} {value!r} but the audit chain gives {replayed!r} (changed without an entry)",
                           **where, detail={"field": name, "live": value, "replayed": replayed})
    return None


class LiveRows:
    """The live rows, looked up chain by chain (``verify_ledger(live_rows=...)``), for a
    ledger too large to hold them all: the database implements it (``ledger.evidence``)."""

    types: frozenset = frozenset()  # the entity types whose rows are known: a chain of one without a row is an orphan

    def rows(self, keys: list[tuple[str, str]]) -> dict:
        """{(entity type, id): live row} of those of ``keys`` that exist."""
        raise NotImplementedError

    def without_chain(self) -> Iterable[tuple[str, str, object]]:
        """(entity type, id, live row) of every row without any entry: never replayed."""
        raise NotImplementedError


def _id_rank(entity_id: str) -> tuple:
    """Numeric ids in numeric order, then the others."""
    return (0, int(entity_id), "") if entity_id.isascii() and entity_id.isdigit() else (1, 0, entity_id)


class ChainOrder:
    """The problems of a walk chain by chain, ranked as a walk in insertion order finds
    them: each entry's (and its chain's) in the entries' order (database id or bundle
    line), then the signatures checked on other processes, then the live rows by entity
    type and id, then the orphan chains. At most ``limit`` are kept (the first ones)."""

    ENTRIES, SIGNATURES, LIVE, ORPHANS = range(4)

    def __init__(self, limit: int):
        self.limit = limit
        self.kept: list = []
        self.phase = self.ENTRIES
        self.position = 0  # where the walk is: the entry's id, line or number
        self.found = 0

    def at_entry(self, record: EntryRecord, number: int) -> None:
        self.position = (record.entry_id if record.entry_id is not None
                         else record.line if record.line is not None else number)

    def at_leaf(self, entry_id: int | None) -> None:
        self.position = entry_id if entry_id is not None else 0

    def add(self, problem: Problem, rank: tuple | None = None) -> None:
        if rank is None:
            if self.phase == self.SIGNATURES:
                located = problem.entry_id if problem.entry_id is not None else problem.line
                rank = (self.SIGNATURES, located or 0)
            else:
                rank = (self.phase, self.position)
        self.found += 1
        self.kept.append((rank, self.found, problem))
        if len(self.kept) >= 2 * self.limit + 64:
            self._trim()

    def _trim(self) -> None:
        self.kept.sort(key=lambda item: item[:2])
        del self.kept[self.limit:]

    def ranked(self) -> list[Problem]:
        self._trim()
        return [problem for _rank, _found, problem in self.kept]


class ChainRetirement:
    """Complete chains waiting to be compared with their live rows, a batch at a time
    (one look-up per batch), then forgotten."""

    BATCH = 1000

    def __init__(self, live_rows: LiveRows, folds: dict, ordered: ChainOrder):
        self.live_rows, self.folds, self.ordered = live_rows, folds, ordered
        self.waiting: list = []
        self.count = 0

    def add(self, chains: dict) -> None:
        """Take the (complete) ``chains`` out of the walk's dict."""
        for key, chain in chains.items():
            replay = chain[2]
            self.waiting.append((key, (replay.state if replay.started else None, chain[0], chain[1], chain[4]),
                                 chain[7]))
        self.count += len(chains)
        chains.clear()
        if len(self.waiting) >= self.BATCH:
            self._compare()

    def _compare(self) -> None:
        if not self.waiting:
            return
        found = self.live_rows.rows([key for key, _summary, _first in self.waiting])
        types, ordered = self.live_rows.types, self.ordered
        for (entity_type, entity_id), summary, first in self.waiting:
            live = found.get((entity_type, entity_id), _MISSING)
            if live is _MISSING:
                if entity_type in types:
                    ordered.add(Problem("orphan_chain", "has an audit chain but does not exist",
                                        entity_type=entity_type, entity_id=entity_id), (ChainOrder.ORPHANS, first))
                continue
            fields = self.folds[entity_type][0] if entity_type in self.folds else ()
            problem = live_problem(entity_type, entity_id, live, summary, fields)
            if problem is not None:
                ordered.add(problem, (ChainOrder.LIVE, entity_type, _id_rank(entity_id)))
        self.waiting = []

    def finish(self) -> None:
        """Compare the last chains, then report every live row without a chain."""
        self._compare()
        for entity_type, entity_id, live in self.live_rows.without_chain():
            fields = self.folds[entity_type][0] if entity_type in self.folds else ()
            problem = live_problem(entity_type, str(entity_id), live, None, fields)
            if problem is not None:
                self.ordered.add(problem, (ChainOrder.LIVE, entity_type, _id_rank(str(entity_id))))


def trusted_keys(keys: list[PublicKey], root_public_key: str, report: Report) -> list[PublicKey]:
    """The keys the root certified; each other one is reported (and then unknown to the
    checks of the entries and checkpoints it signed)."""
    trusted = []
    for key in keys:
        why = key.trust_problem(root_public_key)
        if why:
            report.add(Problem("key_untrusted", f"{key.purpose} key not trusted: {why}", detail={"key_id": key.key_id}))
        else:
            trusted.append(key)
    return with_windows(trusted)


def with_windows(keys: list[PublicKey]) -> list[PublicKey]:
    """Each key's window ends where the next key of its purpose (by certified start)
    begins — or earlier when the key list says so. Computed here from the certified
    starts, not taken from the key list."""
    ordered = sorted(keys, key=lambda k: (k.purpose, k.valid_from, k.key_id))
    for position, key in enumerate(ordered):
        following = ordered[position + 1] if position + 1 < len(ordered) else None
        successor = following.valid_from if following is not None and following.purpose == key.purpose else None
        ends = [t for t in (key.valid_until, successor) if t is not None]
        key.valid_until = min(ends) if ends else None
    return ordered


_ENTRY_KEYS = frozenset(ENTRY_FIELDS)
# The exported columns are the canonical JSON of every field but "v", which sorts last:
# canonical bytes = columns without their closing brace + ',"v":1}'.
_VERSION_SUFFIX = b',"v":%d}' % FORMAT_VERSION


def _format_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _check_entry_form(record: EntryRecord, doc: dict, bad) -> None:
    """The slow path: say exactly what is wrong with the version, the form or a column."""
    if doc["v"] != FORMAT_VERSION:
        bad(Problem.of_entry("unknown_format_version", f"unknown format version {doc['v']!r}", record, doc))
    if canonical_bytes(doc) != record.canonical:
        bad(Problem.of_entry("not_canonical", "stored bytes are not in canonical form", record, doc))
    if record.columns is not None:
        try:
            shown = json.loads(record.columns)
        except ValueError:
            bad(Problem.of_entry("columns_not_json", "the exported columns are not valid JSON", record, doc))
            return
        for name in COLUMN_FIELDS:
            if shown.get(name) != doc[name]:
                bad(Problem.of_entry("column_differs", f"column {name!r} differs from the signed bytes", record, doc,
                                     column=name))
                return


def _time_bounds(checkpoints, max_skew, max_lag) -> list:
    """For each checkpoint size (ascending): (size, latest and earliest times allowed for
    the entries it covers first, its time)."""
    dated = {}
    for record in checkpoints:
        try:
            doc = json.loads(record.canonical)
            size, at = int(doc["size"]), parse_time(doc["at"])
        except (ValueError, KeyError, TypeError, AttributeError):
            continue  # reported by the checkpoint checks
        if at is not None and at.tzinfo is not None and (size not in dated or at < dated[size]):
            dated[size] = at
    bounds, previous_at = [], None
    for size in sorted(dated):
        at = dated[size]
        earliest = _format_time(previous_at - timedelta(seconds=max_lag)) if previous_at else ""
        bounds.append((size, _format_time(at + timedelta(seconds=max_skew)), earliest, _format_time(at)))
        previous_at = at
    return bounds


def _check_time(index, at, covering, position, record, doc, bad):
    """An entry is dated no later than the checkpoint that first covers it (give or take
    the clocks' skew), and not long before the checkpoint preceding that one (give or
    take the integrator's lag)."""
    if position >= len(covering):
        return  # not covered by any checkpoint yet
    size, latest, earliest, checkpoint_at = covering[position]
    if at > latest:
        bad(Problem.of_entry("entry_after_checkpoint", f"dated {at}, after the checkpoint of size {size} that first "
                                                       f"covers it ({checkpoint_at})", record, doc,
                             checkpoint_size=size))
    elif at < earliest:
        bad(Problem.of_entry("entry_backdated", f"dated {at}, long before the checkpoint preceding the one of size "
                                                f"{size} that first covers it", record, doc, checkpoint_size=size))


def _blame_previous(previous, keys_by_id, bad):
    """Report the previous entry of a broken link when its signature does not verify over
    the hash it carries (an entry edited and rehashed without the key)."""
    key_id, signature, is_base64, digest, entry_id, line, entity_type, entity_id, seq = previous
    key = keys_by_id.get(key_id)
    try:
        raw = base64.b64decode(signature) if is_base64 else signature
        holds = key is not None and key.verify(raw, bytes.fromhex(digest))
    except ValueError:
        holds = False
    if not holds:
        bad(Problem("bad_signature", "signature does not verify (the entry was edited and rehashed without the key)",
                    entity_type=entity_type, entity_id=entity_id, seq=seq, entry_id=entry_id, line=line,
                    entry_hash=digest))


def _verify_definitions(checkpoints, machines, bad):
    """The newest checkpoint signs the hash of the state machines in force: the replay
    must use exactly those (a widened machine would accept forbidden moves)."""
    newest = None
    for record in checkpoints:
        try:
            doc = json.loads(record.canonical)
            if newest is None or (int(doc["size"]), str(doc["at"])) > (int(newest["size"]), str(newest["at"])):
                newest = doc
        except (ValueError, KeyError, TypeError):
            continue
    if newest is None or "definitions" not in newest:
        return
    if newest["definitions"] != definitions_digest(machines):
        bad(Problem("definitions_mismatch", "the state machines checked against are not those the newest "
                                            "checkpoint signs (altered definitions)",
                    checkpoint_size=newest.get("size"), checkpoint_at=newest.get("at")))


def _check_link(doc, record, previous, about, bad):
    """A checkpoint names its predecessor (size and root) and proves it is a prefix."""
    expected_size, expected_root = (previous[0], previous[2]) if previous else (0, EMPTY_ROOT.hex())
    if doc.get("v") != CHECKPOINT_VERSION:
        bad(about("checkpoint_malformed", f"checkpoint format {doc.get('v')!r} does not name its predecessor"))
        return
    if doc.get("prev_size") != expected_size or doc.get("prev_root") != expected_root:
        bad(about("checkpoint_chain_broken",
                  f"names checkpoint size {doc.get('prev_size')!r} as its predecessor, but the previous checkpoint "
                  f"is size {expected_size} (a checkpoint was deleted or rebuilt)",
                  prev_size=doc.get("prev_size"), expected_size=expected_size))
        return
    try:
        holds = verify_consistency(expected_size, int(doc["size"]), bytes.fromhex(expected_root),
                                   bytes.fromhex(doc["root"]), record.consistency)
    except (ValueError, TypeError):
        holds = False
    if not holds:
        bad(about("checkpoint_inconsistent", f"the consistency proof from size {expected_size} does not verify"))


def _verify_trusted_checkpoint(trusted: dict, tree: TreeWalk, report, bad):
    """The ledger must still contain the checkpoint the auditor kept: its first
    ``size`` leaves give its root (the database or bundle was not rolled back, forked
    or rewritten since the auditor last verified)."""
    size, root = int(trusted["size"]), trusted["root"]
    where = {"checkpoint_size": size, "checkpoint_at": trusted.get("at"), "detail": {"kept": True}}
    if tree.position < size and size >= tree.start:
        bad(Problem("trusted_checkpoint_missing",
                    f"the ledger has {tree.indexed} integrated entries, fewer than the {size} of the checkpoint "
                    "kept in the trust file: it was rolled back or entries were removed", **where))
        return
    if size < tree.start:
        return  # before the checkpoint the verification starts from, which it checked (``since``)
    if tree.root_at(size) != root:
        bad(Problem("trusted_checkpoint_mismatch",
                    "the ledger's first entries no longer give the root of the checkpoint kept in the trust file: "
                    "its history was rewritten (or this is a fork)", **where))


def _verify_base_checkpoint(since: SinceCheckpoint, keys_by_id, bad) -> None:
    """The checkpoint a verification ``--since`` starts from: signed by a checkpoint key
    in its window, and the leaves of the ledger's first ``size`` places give its root."""
    where = {"checkpoint_size": since.size, "checkpoint_at": _format_time(since.at) if since.at else None}
    record = since.record
    key = keys_by_id.get(record.key_id)
    if key is None or key.purpose != "checkpoint":
        bad(Problem("checkpoint_unknown_key", f"signed by unknown key {record.key_id!r}", **where,
                    detail={"key_id": record.key_id}))
    elif since.at is None or not key.covers(since.at):
        bad(Problem("checkpoint_outside_key_window", f"signed outside the window of key {record.key_id}", **where,
                    detail={"key_id": record.key_id}))
    elif not key.verify(record.signature, record.canonical):
        bad(Problem("checkpoint_bad_signature", "signature does not verify", **where))
    held = frontier_size(since.frontier)
    if held != since.size:
        bad(Problem("checkpoint_leaf_missing", f"Merkle root cannot be recomputed: global index {held} it covers "
                                               "is missing (an entry was deleted)", index=held, **where))
    elif frontier_root(since.frontier).hex() != since.root:
        bad(Problem("checkpoint_root_mismatch", "Merkle root does not match the entries it covers: an entry with a "
                                                f"global index below {since.size} was edited, reordered, replaced "
                                                "or removed", **where, detail={"first_index": 0,
                                                                               "last_index": since.size - 1}))


def _verify_checkpoints(checkpoints, tree: TreeWalk, keys_by_id, report, bad, since: SinceCheckpoint | None = None):
    if tree.position != tree.indexed:
        bad(Problem("index_gap", "is missing: the leaf sequence has a gap (an entry was deleted)",
                    index=tree.position))
    indexed = tree.indexed
    previous = (since.size, since.at, since.root) if since else None
    if since is not None:
        _verify_base_checkpoint(since, keys_by_id, bad)
    parsed = []
    for number, record in enumerate(checkpoints, 1):
        try:
            doc = json.loads(record.canonical)
            size, root, at = int(doc["size"]), doc["root"], parse_time(doc["at"])
        except (ValueError, KeyError, TypeError):
            bad(Problem("checkpoint_malformed", "stored bytes are not a checkpoint",
                        detail={"checkpoint_number": number}))
            continue
        parsed.append((size, at, root, doc, record))
    parsed.sort(key=lambda item: (item[0], item[1]))
    for size, at, root, doc, record in parsed:
        report.checkpoints += 1
        if record.columns is not None and tuple(record.columns) != (size, root):
            bad(Problem("checkpoint_column_differs", f"its columns say size {record.columns[0]}, root "
                                                     f"{str(record.columns[1])[:16]}…, its signed bytes size {size}",
                        checkpoint_size=size, checkpoint_at=doc["at"]))

        def about(code, message, size=size, doc=doc, **detail):
            return Problem(code, message, checkpoint_size=size, checkpoint_at=doc["at"], detail=detail)

        key = keys_by_id.get(record.key_id)
        if key is None or key.purpose != "checkpoint" or doc.get("key") != record.key_id:
            bad(about("checkpoint_unknown_key", f"signed by unknown key {record.key_id!r}", key_id=record.key_id))
        elif not key.covers(at):
            bad(about("checkpoint_outside_key_window",
                      f"signed at {doc['at']} outside the window of key {record.key_id}", key_id=record.key_id))
        elif not key.verify(record.signature, record.canonical):
            bad(about("checkpoint_bad_signature", "signature does not verify"))
        if previous is not None:
            if size == previous[0] and root != previous[2]:
                bad(about("checkpoint_fork", "fork: another checkpoint of the same size has a different root"))
                continue
            if at < previous[1] and size > previous[0]:
                bad(about("checkpoint_misdated", "is dated before a smaller checkpoint"))
        if size != (previous[0] if previous else None):
            _check_link(doc, record, previous, about, bad)
        if size > indexed:
            bad(about("checkpoint_truncated",
                      f"covers {size} entries but the ledger holds {indexed} indexed entries (truncated)",
                      indexed=indexed))
            previous = (size, at, root)
            continue
        if size > tree.position:
            problem = about("checkpoint_leaf_missing", f"Merkle root cannot be recomputed: global index "
                                                       f"{tree.position} it covers is missing (an entry was deleted)")
            problem.index = tree.position
            bad(problem)
        elif tree.root_at(size) != root:
            first = previous[0] if previous else 0
            bad(about("checkpoint_root_mismatch", f"Merkle root does not match the entries it covers: an entry "
                                                  f"with a global index from {first} to {size - 1} was edited, "
                                                  "reordered, replaced or removed", first_index=first,
                      last_index=size - 1))
        previous = (size, at, root)
    covered = max((item[0] for item in parsed), default=since.size if since else 0)
    if since is None:
        report.uncheckpointed = max(0, report.entries - covered)
    else:  # only the touched chains were read: count the tree's leaves, and the entries without one
        report.uncheckpointed = max(0, tree.indexed - covered) + report.unindexed


# --- Reading a bundle --------------------------------------------------------------------


class BundleError(Exception):
    """The bundle (or proof, or key file) is unusable: missing, truncated or malformed."""


class BundleTampered(Exception):
    """A bundle file differs from its manifest: the evidence was altered (exit 1)."""


def _read_json(path: str):
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except FileNotFoundError:
        raise BundleError(f"missing file: {os.path.basename(path)}") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise BundleError(f"{os.path.basename(path)} is not valid JSON: {exc}") from None


def _sha256_file(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _open_bundle_file(path: str):
    try:
        return open(path, "rb")  # noqa: SIM115 - the caller closes it with "with"
    except FileNotFoundError:
        raise BundleError(f"missing file: {os.path.basename(path)}") from None


_HEX = frozenset(b"0123456789abcdef")


def read_entries(path: str) -> Iterator[EntryRecord]:
    with _open_bundle_file(path) as handle:
        for number, line in enumerate(handle, 1):
            parts = line.rstrip(b"\n").split(b"\t")
            if len(parts) != 7:
                raise BundleError(f"entries.tsv line {number} is malformed (expected 7 fields)")
            if len(parts[3]) != 88 or len(parts[1]) != 64 or not _HEX.issuperset(parts[1]):
                raise BundleError(f"entries.tsv line {number} is malformed (hash or signature)")
            try:
                yield EntryRecord(
                    canonical=parts[0], hash=parts[1].decode("ascii"), key_id=parts[2].decode("ascii"),
                    signature=parts[3], signature_is_base64=True,
                    index=int(parts[4]) if parts[4] else None,
                    columns=parts[5] or None, line=number, entry_id=int(parts[6]),
                )
            except (ValueError, UnicodeDecodeError) as exc:
                raise BundleError(f"entries.tsv line {number} is malformed: {exc}") from None


def read_checkpoints(path: str) -> list[CheckpointRecord]:
    records = []
    with _open_bundle_file(path) as handle:
        for number, line in enumerate(handle, 1):
            parts = line.rstrip(b"\n").split(b"\t")
            if len(parts) != 4:
                raise BundleError(f"checkpoints.tsv line {number} is malformed")
            try:
                records.append(CheckpointRecord(
                    parts[0], parts[1].decode("ascii"), base64.b64decode(parts[2], validate=True),
                    [base64.b64decode(h, validate=True) for h in parts[3].split(b",") if h],
                ))
            except (ValueError, UnicodeDecodeError) as exc:
                raise BundleError(f"checkpoints.tsv line {number} is malformed: {exc}") from None
    return records


def load_keys(data) -> tuple[list[PublicKey], str | None]:
    """A key file (``keys.json``): the keys, and the root public key it names."""
    try:
        items = data["keys"]
        root = data.get("root")
        root_public = root["public_key"] if root else None
        if root_public is not None and len(bytes.fromhex(root_public)) != 32:
            raise ValueError("the root public key has not 32 bytes")
        keys = [PublicKey.from_json(item) for item in items]
        for key in keys:
            if len(bytes.fromhex(key.public_hex)) != 32:
                raise ValueError("an Ed25519 public key has 32 bytes")
            if key.valid_from is None or any(t is not None and t.tzinfo is None for t in (key.valid_from, key.valid_until)):
                raise ValueError(f"key {key.key_id}: validity times must be UTC (...Z)")
        return keys, root_public
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise BundleError(f"the key file is not a Tamkeen key file: {exc}") from None


# --- The auditor's trust file --------------------------------------------------------------

TRUST_FORMAT = "tamkeen-trust/1"


@dataclass
class Trust:
    """What the auditor keeps, outside the evidence: the ledger's root public key, the
    witnesses (and how many must cosign), and the newest checkpoint they verified."""

    root_public_key: str
    witnesses: list = field(default_factory=list)  # [{"name", "id", "public_key"}]
    witness_quorum: int = 0
    checkpoint_record: dict | None = None  # {"canonical", "key_id", "signature"}

    @property
    def checkpoint(self) -> dict | None:
        """The kept checkpoint's signed fields (size, root, at)."""
        if self.checkpoint_record is None:
            return None
        return json.loads(self.checkpoint_record["canonical"])

    def as_json(self) -> dict:
        return {"format": TRUST_FORMAT, "root": {"id": key_id_for(self.root_public_key),
                                                 "public_key": self.root_public_key},
                "witnesses": self.witnesses, "witness_quorum": self.witness_quorum,
                "checkpoint": self.checkpoint_record}


def load_trust(path: str) -> Trust:
    data = _read_json(path)
    try:
        if data.get("format") != TRUST_FORMAT:
            raise ValueError(f"not a {TRUST_FORMAT} file")
        root = data["root"]["public_key"]
        if len(bytes.fromhex(root)) != 32 or data["root"].get("id") != key_id_for(root):
            raise ValueError("the root's id is not derived from its public key")
        witnesses = list(data.get("witnesses") or [])
        for witness in witnesses:
            if witness["id"] != key_id_for(witness["public_key"]):
                raise ValueError(f"witness {witness.get('name')!r}: its id is not derived from its public key")
        quorum = int(data.get("witness_quorum") or 0)
        if not 0 <= quorum <= len(witnesses):
            raise ValueError("witness_quorum is more than the witnesses listed")
        checkpoint = data.get("checkpoint")
        if checkpoint is not None:
            document = json.loads(checkpoint["canonical"])
            int(document["size"]), bytes.fromhex(document["root"])
        return Trust(root, witnesses, quorum, checkpoint)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise BundleError(f"{os.path.basename(path)} is not a Tamkeen trust file: {exc}") from None


def save_trust(trust: Trust, path: str) -> None:
    """Write the trust file atomically (never half-written)."""
    directory = os.path.dirname(os.path.abspath(path))
    temporary = os.path.join(directory, f".{os.path.basename(path)}.tmp")
    with open(temporary, "w", encoding="utf-8") as handle:
        json.dump(trust.as_json(), handle, indent=1, sort_keys=True)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def newest_checkpoint(checkpoints: list[CheckpointRecord]) -> dict | None:
    """The largest checkpoint, as a trust file keeps it."""
    best, best_key = None, (-1, "")
    for record in checkpoints:
        try:
            doc = json.loads(record.canonical)
            key = (int(doc["size"]), str(doc["at"]))
        except (ValueError, KeyError, TypeError):
            continue
        if key > best_key:  # the largest, and of those the latest
            best, best_key = record, key
    if best is None:
        return None
    return {"canonical": best.canonical.decode("utf-8"), "key_id": best.key_id,
            "signature": base64.b64encode(best.signature).decode()}


COSIGNATURE_TYPE = "tamkeen-cosignature/v1"


def cosignature_message(witness_key_id: str, time: str, checkpoint_canonical: bytes) -> bytes:
    """What a witness signs: its id, when, and the SHA-256 of the checkpoint's bytes."""
    return canonical_bytes({"type": COSIGNATURE_TYPE, "witness": witness_key_id, "time": time,
                            "checkpoint": hashlib.sha256(checkpoint_canonical).hexdigest()})


def cosigning_witnesses(checkpoint_canonical: bytes, cosignatures: list, witnesses: list) -> set:
    """The ids of the ``witnesses`` (trusted: {"id", "public_key"}) whose cosignature of
    this checkpoint verifies."""
    by_id = {w["id"]: w["public_key"] for w in witnesses}
    valid = set()
    for cosignature in cosignatures:
        try:
            public = by_id.get(cosignature["witness"])
            if public is None:
                continue
            message = cosignature_message(cosignature["witness"], cosignature["time"], checkpoint_canonical)
            if ed25519_verify(public, base64.b64decode(cosignature["signature"], validate=True), message):
                valid.add(cosignature["witness"])
        except (KeyError, TypeError, ValueError):
            continue
    return valid


def _witness_problems(trust: Trust, directory: str, report: Report) -> list:
    """With a trust file that names witnesses, the newest checkpoint must carry the
    cosignatures of at least ``witness_quorum`` of them (``cosignatures.json``)."""
    if not trust.witness_quorum or report.newest_checkpoint is None:
        return []
    path = os.path.join(directory, "cosignatures.json")
    cosignatures = _read_json(path) if os.path.exists(path) else {}
    canonical = report.newest_checkpoint["canonical"].encode("utf-8")
    sha = hashlib.sha256(canonical).hexdigest()
    valid = cosigning_witnesses(canonical, cosignatures.get(sha, []), trust.witnesses)
    if len(valid) >= trust.witness_quorum:
        return []
    document = json.loads(canonical)
    return [Problem("checkpoint_not_witnessed",
                    f"cosigned by {len(valid)} of the witnesses your trust file names, {trust.witness_quorum} needed",
                    checkpoint_size=document.get("size"), checkpoint_at=document.get("at"),
                    detail={"cosigned_by": sorted(valid)})]


def verify_bundle(directory: str, *, check_signatures=False, trust: Trust | None = None, progress=None) -> Report:
    if not os.path.isdir(directory):
        raise BundleError(f"{directory} is not a bundle directory")
    manifest = _read_json(os.path.join(directory, "manifest.json"))
    if not isinstance(manifest, dict) or manifest.get("format") != BUNDLE_FORMAT:
        raise BundleError("manifest.json is not a Tamkeen evidence bundle manifest")
    files = manifest.get("files", {})
    if not isinstance(files, dict) or not all(isinstance(v, str) for v in files.values()):
        raise BundleError("manifest.json: 'files' is not a mapping of file names to SHA-256 hashes")
    for name, expected in files.items():
        path = os.path.join(directory, name)
        if not os.path.exists(path):
            raise BundleError(f"missing file: {name}")
        if _sha256_file(path) != expected:
            raise BundleTampered(f"{name} does not match the manifest: the bundle was altered after its export")
    keys, bundle_root = load_keys(_read_json(os.path.join(directory, "keys.json")))
    machines = _read_json(os.path.join(directory, "state_machines.json"))
    live = _read_json(os.path.join(directory, "live_state.json"))
    try:
        StateMachines(machines)
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        raise BundleError(f"state_machines.json is not a set of state machines: {exc!r}") from None
    if not isinstance(live, dict) or not all(isinstance(v, dict) for v in live.values()):
        raise BundleError("live_state.json is not a mapping of entity types to {id: state}")
    if trust is None and bundle_root is None:
        raise BundleError("keys.json names no root key: verify with --trust FILE")
    checkpoints = read_checkpoints(os.path.join(directory, "checkpoints.tsv"))
    report = verify_ledger(
        read_entries(os.path.join(directory, "entries.tsv")), checkpoints,
        keys, machines, live, check_signatures=check_signatures, progress=progress,
        root_public_key=trust.root_public_key if trust else bundle_root,
        trust="trust file" if trust else "evidence",
        trusted_checkpoint=trust.checkpoint if trust else None,
    )
    report.newest_checkpoint = newest_checkpoint(checkpoints)
    _verify_manifest(manifest, report)
    return report


MANIFEST_SIGNED_FIELDS = ("format", "created_at", "entries", "checkpoints", "files", "newest_checkpoint",
                          "definitions")


def manifest_message(manifest: dict) -> bytes:
    """What the checkpoint key signs of a manifest: every field but the signature."""
    return canonical_bytes({name: manifest.get(name) for name in MANIFEST_SIGNED_FIELDS})


def _verify_manifest(manifest: dict, report: Report) -> None:
    """The manifest is signed by a certified checkpoint key (the bundle does not vouch
    for itself: a replaced verify.py, a widened state_machines.json, a live_state.json
    with an entity type removed change the file hashes it signs), and its counts and
    newest checkpoint are those of the files."""
    signed = manifest.get("signature")
    keys = {k.key_id: k for k in report.keys if k.purpose == "checkpoint"}
    try:
        key = keys.get(signed["key_id"])
        created = parse_time(manifest["created_at"])
        valid = key is not None and key.covers(created) and key.verify(
            base64.b64decode(signed["signature"], validate=True), manifest_message(manifest))
    except (KeyError, TypeError, ValueError, AttributeError):
        valid = False
    if not valid:
        report.add(Problem("manifest_unsigned", "the manifest is not signed by a certified checkpoint key valid "
                                                "when it was written: the bundle's files vouch for nothing"))
    if manifest.get("entries") != report.entries:
        report.add(Problem("manifest_count_mismatch", f"the manifest says {manifest.get('entries')!r} entries, "
                                                      f"the bundle holds {report.entries}"))
    newest = report.newest_checkpoint["canonical"] if report.newest_checkpoint else None
    if manifest.get("newest_checkpoint") != newest:
        report.add(Problem("manifest_count_mismatch", "the manifest names another newest checkpoint than the "
                                                      "bundle's"))


class SignaturePool:
    """Entry signatures checked on ``workers`` processes while the caller reads on: the
    entries are sent in batches (key id, signature, hash and where the entry is), at most
    two batches a worker in flight, so memory stays flat however many entries come."""

    BATCH = 4000
    THREAD_BATCH = 250  # threads serve one chain of a few thousand entries at most

    def __init__(self, keys: list[PublicKey], workers: int, *, threads: bool = False):
        from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

        self.key_dicts = [{**k.__dict__, "_verifier": None} for k in keys]
        self.pool = ThreadPoolExecutor(workers) if threads else ProcessPoolExecutor(workers)
        self.batch_size = self.THREAD_BATCH if threads else self.BATCH
        self.limit = 2 * workers
        self.batch: list = []
        self.running: list = []
        self.count = 0
        self.problems: list[Problem] = []

    def add(self, record: EntryRecord, doc: dict) -> None:
        self.batch.append((record.key_id, record.signature_bytes(), record.hash, record.entry_id, record.line,
                           doc.get("entity_type"), doc.get("entity_id"), doc.get("seq")))
        if len(self.batch) >= self.batch_size:
            self._send()

    def _send(self) -> None:
        if self.batch:
            self.running.append(self.pool.submit(_check_signature_batch, self.key_dicts, self.batch))
            self.batch = []
        while len(self.running) > self.limit or (self.running and self.running[0].done()):
            self._collect(self.running.pop(0))

    def _collect(self, future) -> None:
        count, problems = future.result()
        self.count += count
        self.problems.extend(problems)

    def finish(self) -> tuple[int, list[Problem]]:
        """(signatures checked, the bad ones in the order the entries came)."""
        self._send()
        while self.running:
            self._collect(self.running.pop(0))
        return self.count, self.problems

    def close(self) -> None:
        self.pool.shutdown(cancel_futures=True)


_BATCH_KEYS: dict = {}


def _check_signature_batch(key_dicts, batch) -> tuple[int, list[Problem]]:
    cache_key = tuple(k["key_id"] for k in key_dicts)
    keys = _BATCH_KEYS.get(cache_key)
    if keys is None:  # once a process (the Ed25519 keys are loaded once, then reused)
        keys = _BATCH_KEYS[cache_key] = {k["key_id"]: PublicKey(**k) for k in key_dicts}
    problems = []
    for key_id, signature, digest, entry_id, line, entity_type, entity_id, seq in batch:
        key = keys.get(key_id)
        try:
            valid = key is not None and key.verify(signature, bytes.fromhex(digest))
        except ValueError:
            valid = False
        if not valid:
            problems.append(Problem("bad_signature", "signature does not verify", entity_type=entity_type,
                                    entity_id=entity_id, seq=seq, entry_id=entry_id, line=line, entry_hash=digest))
    return len(batch), problems


def verify_signatures_parallel(directory: str, keys: list[PublicKey], workers: int | None = None) -> tuple[int, list]:
    """Check every entry signature with ``keys`` (the trusted ones) using all cores;
    returns (count, problems), the problems in the ledger's order whatever the cores."""
    from concurrent.futures import ProcessPoolExecutor

    key_dicts = [{**k.__dict__, "_verifier": None} for k in keys]
    path = os.path.join(directory, "entries.tsv")
    size = os.path.getsize(path)
    workers = workers or os.cpu_count() or 1
    bounds = [size * i // workers for i in range(workers + 1)]
    with ProcessPoolExecutor(workers) as pool:
        results = list(pool.map(_check_signature_range, [path] * workers, bounds[:-1], bounds[1:],
                                [key_dicts] * workers))
    problems = [p for r in results for p in r[1]]
    problems.sort(key=lambda p: (p.entry_id if p.entry_id is not None else -1))
    return sum(r[0] for r in results), problems


def _check_signature_range(path, start, end, key_dicts):
    keys = {k["key_id"]: PublicKey(**k) for k in key_dicts}
    count, problems = 0, []
    with open(path, "rb") as handle:
        if start:
            handle.seek(start - 1)
            handle.readline()  # finish the line that straddles the boundary
        while handle.tell() < end:
            line = handle.readline()
            if not line:
                break
            parts = line.rstrip(b"\n").split(b"\t")
            key = keys.get(parts[2].decode("ascii", "replace")) if len(parts) == 7 else None
            count += 1
            try:
                valid = key is not None and key.verify(base64.b64decode(parts[3]), bytes.fromhex(parts[1].decode()))
            except (ValueError, UnicodeDecodeError):
                valid = False
            if not valid:
                problems.append(_signature_problem(parts))
    return count, problems


def _signature_problem(parts: list) -> Problem:
    """A bad signature found by the parallel check, located by the entry's own fields
    and its id, as the sequential check locates every other problem."""
    problem = Problem("bad_signature", "signature does not verify",
                      entry_hash=parts[1].decode("ascii", "replace") if len(parts) > 1 else None)
    try:
        doc = json.loads(parts[0])
        problem.entity_type, problem.entity_id, problem.seq = doc["entity_type"], doc["entity_id"], doc["seq"]
        problem.entry_id = int(parts[6])
    except (ValueError, KeyError, TypeError, IndexError):
        pass  # the sequential check reports bytes that are not an entry
    return problem


# --- Inclusion proofs ------------------------------------------------------------------


_MALFORMED_PROOF = "the proof is malformed"


def verify_proof(proof: dict, trust: Trust | None = None) -> list[Problem]:
    """Check one entry's inclusion proof; returns the list of problems (empty when valid).
    The keys it carries count only with a certificate from the root: the trust file's,
    else the one the proof names. A proof that cannot be read at all gives one problem
    coded ``proof_malformed``."""
    problems = []
    try:
        if proof.get("format") != PROOF_FORMAT:
            return [Problem("proof_format", "not a Tamkeen inclusion proof")]
        keys, named_root = load_keys({"root": proof.get("root"), "keys": proof["keys"]})
        root = trust.root_public_key if trust else named_root
        if root is None:
            raise BundleError("the proof names no root key: verify it with --trust FILE")
        untrusted = Report()
        by_id = {k.key_id: k for k in trusted_keys(keys, root, untrusted)}
        problems.extend(untrusted.problems)
        canonical = proof["entry"]["canonical"].encode("utf-8")
        digest = entry_hash(canonical)
        doc = json.loads(canonical)
        entry_id = proof["entry"].get("id")

        def about_entry(code, message, **fields):
            return Problem(code, message, entity_type=doc.get("entity_type"), entity_id=doc.get("entity_id"),
                           seq=doc.get("seq"), entry_id=entry_id if isinstance(entry_id, int) else None,
                           entry_hash=digest, **fields)

        if digest != proof["entry"]["hash"]:
            problems.append(about_entry("hash_mismatch", "the entry's hash does not match its bytes"))
        entry_key = by_id.get(proof["entry"]["key_id"])
        if entry_key is None or entry_key.purpose != "entry":
            problems.append(about_entry("unknown_key", "the entry is signed by an unknown key",
                                        detail={"key_id": proof["entry"]["key_id"]}))
        elif not entry_key.covers(parse_time(doc["at"])):
            problems.append(about_entry("outside_key_window", "the entry is signed outside its key's window",
                                        detail={"key_id": entry_key.key_id}))
        elif not entry_key.verify(base64.b64decode(proof["entry"]["signature"]), bytes.fromhex(digest)):
            problems.append(about_entry("bad_signature", "the entry's signature does not verify"))
        cp_bytes = proof["checkpoint"]["canonical"].encode("utf-8")
        cp = json.loads(cp_bytes)
        index, size = int(proof["index"]), int(cp["size"])

        def about_checkpoint(code, message, **detail):
            return Problem(code, message, checkpoint_size=size, checkpoint_at=cp.get("at"), detail=detail)

        cp_key = by_id.get(proof["checkpoint"]["key_id"])
        if cp_key is None or cp_key.purpose != "checkpoint":
            problems.append(about_checkpoint("checkpoint_unknown_key", "the checkpoint is signed by an unknown key",
                                             key_id=proof["checkpoint"]["key_id"]))
        elif not cp_key.covers(parse_time(cp["at"])):
            problems.append(about_checkpoint("checkpoint_outside_key_window",
                                             "the checkpoint is signed outside its key's window",
                                             key_id=cp_key.key_id))
        elif not cp_key.verify(base64.b64decode(proof["checkpoint"]["signature"]), cp_bytes):
            problems.append(about_checkpoint("checkpoint_bad_signature", "the checkpoint's signature does not verify"))
        path = [base64.b64decode(h) for h in proof["path"]]
        try:
            root = root_from_inclusion_path(leaf_hash(digest), index, size, path)
        except ValueError as exc:  # a path that cannot belong to that index: invalid, not malformed
            problems.append(about_entry("proof_path_invalid",
                                        f"the audit path does not lead to the checkpoint's root ({exc})",
                                        index=index, checkpoint_size=size))
        else:
            if root.hex() != cp["root"]:
                problems.append(about_entry("proof_path_invalid", "the audit path does not lead to the checkpoint's root",
                                            index=index, checkpoint_size=size))
    except (KeyError, TypeError, ValueError, AttributeError, BundleError) as exc:
        problems.append(Problem("proof_malformed", f"{_MALFORMED_PROOF}: {exc!r}"))
    return problems


class ProgressBar:
    """A progress line on a terminal: ``[#####.....] count/total entries, rate/s, ETA``,
    redrawn at most ten times a second. Silent when ``enabled`` is false (the caller
    decides: by default only when the stream is a terminal and the output is not JSON,
    so logs and pipes get no carriage returns). ``total`` may be None (unknown): then
    the count and the rate only."""

    def __init__(self, total: int | None, *, stream=None, enabled: bool | None = None, unit: str = "entries"):
        import time

        self.stream = stream if stream is not None else sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.total, self.unit, self.clock = total, unit, time.monotonic
        self.started = self.last = self.clock()
        self.count = 0
        self.drawn = False

    def __call__(self, count: int) -> None:
        self.count = count
        now = self.clock()
        if self.enabled and now - self.last >= 0.1:
            self.last = now
            self.draw(now)

    def line(self, now: float) -> str:
        elapsed = max(now - self.started, 1e-9)
        rate = self.count / elapsed
        if self.total:
            width = 30
            done = min(self.count, self.total)
            filled = width * done // self.total
            left = (self.total - done) / rate if rate else 0
            eta = f"ETA {int(left) // 60}:{int(left) % 60:02d}" if done < self.total else f"{elapsed:.1f} s"
            return (f"  [{'#' * filled}{'.' * (width - filled)}] {done:,}/{self.total:,} {self.unit}  "
                    f"{rate:,.0f}/s  {eta}")
        return f"  {self.count:,} {self.unit}  {rate:,.0f}/s  {elapsed:.1f} s"

    def draw(self, now: float) -> None:
        self.stream.write("\r" + self.line(now) + "\x1b[K")
        self.stream.flush()
        self.drawn = True

    def close(self, count: int | None = None) -> None:
        """The last state, and the end of the line (when anything was drawn)."""
        if count is not None:
            self.count = count
        if self.enabled:
            self.draw(self.clock())
            self.stream.write("\n")
            self.stream.flush()


# --- Command line ----------------------------------------------------------------------


NEXT_STEPS = {
    0: "",
    1: "The evidence does not verify: keep this bundle and this report, do not rely on the ledger's history "
       "for the entries named, and ask the council's administrator to explain each problem. "
       "docs/ledger.md lists what each problem code means.",
    2: "The input could not be used: check the paths and that the bundle was copied whole, then run again.",
}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="verify.py",
        description="Verify a Tamkeen evidence bundle or inclusion proof offline. Exit 0: verified; "
                    "1: the evidence does not verify (the first bad item is named); 2: unusable input.",
    )
    parser.add_argument("bundle", nargs="?", help="the bundle directory written by 'manage.py audit export'")
    parser.add_argument("--signatures", action="store_true", help="also check every entry signature (all cores)")
    parser.add_argument("--trust", metavar="FILE",
                        help="your trust file (root key, witnesses, the checkpoint you verified last): without it, "
                             "keys and checkpoints are taken from the evidence itself")
    parser.add_argument("--update-trust", action="store_true",
                        help="when everything verifies, keep the newest checkpoint in the trust file")
    parser.add_argument("--proof", help="verify an inclusion proof written by 'manage.py audit prove'")
    parser.add_argument("--quiet", action="store_true", help="print only the result")
    parser.add_argument("--no-progress", action="store_true",
                        help="no progress bar (shown only when the error output is a terminal, and never with "
                             "--json or --quiet)")
    parser.add_argument("--json", action="store_true",
                        help="print the result as JSON: counts and each problem's code, message and location")
    args = parser.parse_args(argv)
    quiet = args.quiet or args.json
    if args.update_trust and not args.trust:
        parser.error("--update-trust needs --trust FILE")
    try:
        trust = load_trust(args.trust) if args.trust else None
        if args.proof:
            return _main_proof(args, trust)
        if not args.bundle:
            parser.error("give a bundle directory or --proof FILE")

        bar = ProgressBar(_manifest_entries(args.bundle), enabled=False if quiet or args.no_progress else None)
        report = verify_bundle(args.bundle, trust=trust, progress=bar)
        bar.close(report.entries)
        if args.signatures:
            count, problems = verify_signatures_parallel(args.bundle, report.keys)
            report.signatures_checked = count
            report.problems.extend(problems)
        if trust is not None:
            report.problems.extend(_witness_problems(trust, args.bundle, report))
        print(json.dumps(report.as_dict(), indent=1) if args.json else report.summary())
        if args.update_trust and report.ok and report.newest_checkpoint:
            trust.checkpoint_record = report.newest_checkpoint
            save_trust(trust, args.trust)
            if not quiet:
                print(f"trust file updated: it now keeps the checkpoint of size "
                      f"{json.loads(report.newest_checkpoint['canonical'])['size']}")
        code = 0 if report.ok else 1
    except BundleTampered as exc:
        print(f"NOT INTACT: {exc}", file=sys.stderr)
        code = 1
    except BundleError as exc:
        print(f"error: {exc}", file=sys.stderr)
        code = 2
    except OSError as exc:
        print(f"error: cannot read the input: {exc}", file=sys.stderr)
        code = 2
    if code and not args.json:
        print(NEXT_STEPS[code], file=sys.stderr)
    return code


def _manifest_entries(directory: str) -> int | None:
    """The entry count the manifest announces (for the progress bar only), or None."""
    try:
        with open(os.path.join(directory, "manifest.json"), encoding="utf-8") as handle:
            count = json.load(handle).get("entries")
    except (OSError, ValueError, AttributeError):
        return None
    return count if isinstance(count, int) and count > 0 else None


def _main_proof(args, trust) -> int:
    proof = _read_json(args.proof)
    if not isinstance(proof, dict):
        raise BundleError("the proof file is not a JSON object")
    problems = verify_proof(proof, trust)
    malformed = next((p for p in problems if p.code == "proof_malformed"), None)
    if malformed:
        raise BundleError(malformed.message)
    if args.json:
        print(json.dumps({"valid": not problems, "index": proof["index"], "trust": "trust file" if trust else "evidence",
                          "problems": [p.as_dict() for p in problems]}, indent=1))
        return 1 if problems else 0
    for problem in problems:
        print(f"PROOF INVALID: [{problem.code}] {problem}")
    if not problems:
        print(f"proof valid: entry at index {proof['index']} is in the signed checkpoint of size "
              f"{json.loads(proof['checkpoint']['canonical'])['size']}")
        if trust is None:
            print("NOTE: the keys were taken from the proof itself: verify with --trust FILE to check them "
                  "against the root key you keep.")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
