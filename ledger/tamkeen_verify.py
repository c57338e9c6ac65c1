#!/usr/bin/env python3
"""Tamkeen's standalone audit-ledger verifier.

Needs only Python 3.11+, its standard library and the ``cryptography`` package (for
Ed25519): no Django, no database. ``manage.py audit export`` copies this file into every
evidence bundle, so an auditor can check the bundle on a machine that never saw the
server:

    python3 verify.py BUNDLE_DIR                 # hashes, chains, checkpoints, replay
    python3 verify.py BUNDLE_DIR --signatures    # ... and every entry signature
    python3 verify.py --proof PROOF.json         # one entry's inclusion proof

Exit status: 0 when everything holds, 1 when the ledger is not intact (the first bad
entry and the reason are printed), 2 when the input itself is unusable (missing or
malformed files, wrong key file).

The server uses the same functions (canonical bytes, RFC 6962 Merkle tree, the checks)
through ``ledger.entries``, so the rules live in exactly one place.

Bundle layout (a directory):
    manifest.json        format, creation time, counts, SHA-256 of each file
    entries.tsv          one entry a line: CANONICAL<TAB>HASH<TAB>KEY_ID<TAB>SIG<TAB>INDEX<TAB>COLUMNS
    checkpoints.tsv      one checkpoint a line: CANONICAL<TAB>KEY_ID<TAB>SIG
    keys.json            public keys: id, purpose, Ed25519 public key (hex), window
    state_machines.json  per entity type: initial state, transitions (sources, targets)
    live_state.json      per entity type and id: the state the server holds now
"""

from __future__ import annotations

import argparse
import base64
import gc
import hashlib
import json
import os
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

FORMAT_VERSION = 1
BUNDLE_FORMAT = "tamkeen-evidence-bundle/1"
PROOF_FORMAT = "tamkeen-inclusion-proof/1"
ENTRY_FIELDS = (
    "v", "entity_type", "entity_id", "seq", "transition", "from", "to", "actor", "role",
    "request_id", "payload", "prev", "at",
)
# Fields that the server also keeps in queryable columns; they must equal the signed bytes.
COLUMN_FIELDS = tuple(f for f in ENTRY_FIELDS if f != "v")
GENESIS = "0" * 64


# --- Canonical bytes and hashes -------------------------------------------------------


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


# --- Keys and signatures --------------------------------------------------------------


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
    _verifier: object = field(default=None, repr=False)

    @classmethod
    def from_json(cls, item: dict) -> PublicKey:
        return cls(
            key_id=item["id"], purpose=item["purpose"], public_hex=item["public_key"],
            valid_from=parse_time(item["valid_from"]), valid_until=parse_time(item.get("valid_until")),
        )

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
    locator: str = ""  # how to find it on the server (database id), for reports
    signature_is_base64: bool = False

    def signature_bytes(self) -> bytes:
        return base64.b64decode(self.signature) if self.signature_is_base64 else self.signature


@dataclass
class CheckpointRecord:
    canonical: bytes
    key_id: str
    signature: bytes


@dataclass
class Problem:
    where: str
    reason: str

    def __str__(self):
        return f"{self.where}: {self.reason}"


@dataclass
class Report:
    entries: int = 0
    chains: int = 0
    checkpoints: int = 0
    signatures_checked: int = 0
    uncheckpointed: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def add(self, where: str, reason: str) -> None:
        self.problems.append(Problem(where, reason))

    def summary(self) -> str:
        lines = [
            f"entries: {self.entries}  chains: {self.chains}  checkpoints: {self.checkpoints}  "
            f"signatures checked: {self.signatures_checked}  not yet in a checkpoint: {self.uncheckpointed}"
        ]
        if self.ok:
            lines.append("ledger intact")
        else:
            lines.append(f"LEDGER NOT INTACT: {len(self.problems)} problem(s); first: {self.problems[0]}")
            lines += [f"  - {p}" for p in self.problems[:20]]
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
            self.machines[entity_type] = (spec["initial"], moves, spec.get("restores", {}),
                                          set(spec.get("keeps_state", ())))


class ChainReplay:
    """The replay of one chain, one entry at a time (entries arrive in insertion order)."""

    __slots__ = ("machine", "state", "remembered", "started")

    def __init__(self, machine):
        self.machine = machine  # (initial, moves, restores, keeps) or None
        self.state = ""
        self.remembered = {}
        self.started = False

    def step(self, transition: str, source: str, target: str) -> str | None:
        """Apply one move; None if allowed, else why not. The state follows the entry."""
        why = self._why(transition, source, target)
        if self.machine is not None:
            self.remembered[transition] = source
        self.state, self.started = target, True
        return why

    def _why(self, transition, source, target):
        if self.machine is None:
            return "no state machine is defined for this entity type"
        initial, moves, restores, keeps = self.machine
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
            remembered = self.remembered.get(restores[transition])
            if target != remembered:
                return f"{transition} must return to {remembered!r}, not {target!r}"
        return None


def _entity_label(doc: dict) -> str:
    return f"{doc.get('entity_type')}#{doc.get('entity_id')}"


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
) -> Report:
    """Check a whole ledger; problems name the entry. ``entries`` come in insertion order
    (the database's id order, which the export keeps): each chain is walked as they arrive.

    The loop is written for a million entries on one core: one JSON parse and one
    SHA-256 per entry, byte comparisons instead of re-encoding where the exported
    columns allow it, timestamps compared as fixed-width UTC strings.
    """
    report = Report()
    keys_by_id = {k.key_id: k for k in keys}
    windows = {
        k.key_id: (k.purpose, _format_time(k.valid_from), _format_time(k.valid_until) if k.valid_until else None)
        for k in keys
    }
    machines_by_type = StateMachines(machines).machines
    scan = json.JSONDecoder().scan_once  # the C scanner, without the whitespace regexes
    sha256 = hashlib.sha256
    # (entity_type, entity_id) -> [last seq, last hash, ChainReplay]
    chains: dict = {}
    leaves: dict[int, bytes] = {}
    leaf_owner: dict[int, str] = {}
    problems = report.problems
    entry_keys, suffix, genesis = _ENTRY_KEYS, _VERSION_SUFFIX, GENESIS

    def bad(where, reason):
        if len(problems) < stop_after:
            report.add(where, reason)

    count = 0
    collecting = gc.isenabled()
    gc.disable()  # millions of short-lived objects and no cycles: the collector only costs
    try:
        for record in entries:
            count += 1
            canonical = record.canonical
            try:
                text = canonical.decode("utf-8")
                doc, end = scan(text, 0)
                if end != len(text):
                    raise ValueError("trailing bytes")
            except (ValueError, UnicodeDecodeError, StopIteration):
                bad(_where(record, None), "stored bytes are not valid JSON")
                continue
            if type(doc) is not dict or doc.keys() != entry_keys:
                bad(_where(record, None), "stored bytes do not have the entry fields")
                continue
            entity_type, entity_id, transition, source, target, prev, at = (
                doc["entity_type"], doc["entity_id"], doc["transition"], doc["from"], doc["to"], doc["prev"],
                doc["at"],
            )
            if not (type(entity_type) is type(entity_id) is type(transition) is type(source) is type(target)
                    is type(prev) is type(at) is str):
                bad(_where(record, None), "stored bytes have entry fields of the wrong type")
                continue
            columns = record.columns
            if columns is None or canonical != columns[:-1] + suffix:
                _check_entry_form(record, doc, bad)
            digest = record.hash
            if sha256(canonical).hexdigest() != digest:
                bad(_where(record, doc), "entry hash does not match its bytes (edited)")
            window = windows.get(record.key_id)
            if window is None or window[0] != "entry":
                bad(_where(record, doc), f"signed by unknown key {record.key_id!r}")
            elif at < window[1] or (window[2] is not None and at >= window[2]):
                bad(_where(record, doc), f"signed at {at} outside the window of key {record.key_id}")
            elif check_signatures:
                report.signatures_checked += 1
                if not keys_by_id[record.key_id].verify(record.signature_bytes(), bytes.fromhex(digest)):
                    bad(_where(record, doc), "signature does not verify")
            index = record.index
            if index is not None:
                if index in leaves:
                    bad(_where(record, doc), f"global index {index} is used twice")
                leaves[index] = leaf_hash(digest)
                leaf_owner[index] = record.locator
            # The chain, walked as entries arrive (the export and the database give them in
            # insertion order, and an entity's entries are inserted in sequence order).
            chain = chains.get((entity_type, entity_id))
            if chain is None:
                chain = chains[(entity_type, entity_id)] = [0, genesis, ChainReplay(machines_by_type.get(entity_type))]
            seq = doc["seq"]
            if seq != chain[0] + 1:
                reason = ("a previous entry is missing" if type(seq) is int and seq > chain[0] + 1
                          else "sequence number repeated or out of order")
                bad(_where(record, doc), f"expected seq {chain[0] + 1}: {reason}")
            if prev != chain[1]:
                bad(_where(record, doc), "previous-entry hash does not match the chain (inserted, deleted or reordered)")
            why = chain[2].step(transition, source, target)
            if why:
                bad(_where(record, doc), f"state machine: {why}")
            if type(seq) is int and seq > chain[0]:
                chain[0] = seq
            chain[1] = digest
            if progress and count % 10000 == 0:
                progress(count)
    finally:
        if collecting:
            gc.enable()
    report.entries = count
    for key, chain in chains.items():
        chains[key] = [chain[2].state] if chain[2].started else []  # keep only the replayed final state
    report.chains = len(chains)

    if live_state is not None:
        for entity_type, states in live_state.items():
            for entity_id, state in states.items():
                chain = chains.get((entity_type, str(entity_id)))
                replayed = chain[0] if chain else None
                if replayed != state:
                    bad(
                        f"entity {entity_type}#{entity_id}",
                        f"live state {state!r} but the audit chain ends in {replayed!r} "
                        "(state changed without an entry, or the chain's tail is missing)",
                    )
        for (entity_type, entity_id) in chains:
            if entity_type in live_state and entity_id not in live_state[entity_type]:
                bad(f"entity {entity_type}#{entity_id}", "has an audit chain but does not exist")

    _verify_checkpoints(checkpoints, leaves, leaf_owner, keys_by_id, report, bad)
    return report


_ENTRY_KEYS = frozenset(ENTRY_FIELDS)
# The exported columns are the canonical JSON of every field but "v", which sorts last:
# canonical bytes = columns without their closing brace + ',"v":1}'.
_VERSION_SUFFIX = b',"v":%d}' % FORMAT_VERSION


def _format_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _where(record: EntryRecord, doc: dict | None) -> str:
    located = f" ({record.locator})" if record.locator else ""
    if doc is None:
        return f"entry {record.hash[:16]}{located}"
    return f"entry {_entity_label(doc)} seq {doc.get('seq')}{located}"


def _check_entry_form(record: EntryRecord, doc: dict, bad) -> None:
    """The slow path: say exactly what is wrong with the version, the form or a column."""
    where = _where(record, doc)
    if doc["v"] != FORMAT_VERSION:
        bad(where, f"unknown format version {doc['v']!r}")
    if canonical_bytes(doc) != record.canonical:
        bad(where, "stored bytes are not in canonical form")
    if record.columns is not None:
        try:
            shown = json.loads(record.columns)
        except ValueError:
            bad(where, "the exported columns are not valid JSON")
            return
        for name in COLUMN_FIELDS:
            if shown.get(name) != doc[name]:
                bad(where, f"column {name!r} differs from the signed bytes")
                return


def _verify_checkpoints(checkpoints, leaves, leaf_owner, keys_by_id, report, bad):
    indices = sorted(leaves)
    if indices and indices != list(range(len(indices))):
        missing = next(i for i, idx in enumerate(indices) if i != idx)
        bad(f"global index {missing}", "is missing: the leaf sequence has a gap (an entry was deleted)")
    frontier: list = []
    position = 0
    previous = None
    parsed = []
    for number, record in enumerate(checkpoints, 1):
        where = f"checkpoint #{number}"
        try:
            doc = json.loads(record.canonical)
            size, root, at = int(doc["size"]), doc["root"], parse_time(doc["at"])
        except (ValueError, KeyError, TypeError):
            bad(where, "stored bytes are not a checkpoint")
            continue
        parsed.append((size, at, root, doc, record, f"checkpoint size {size} at {doc['at']}"))
    parsed.sort(key=lambda item: (item[0], item[1]))
    for size, at, root, doc, record, where in parsed:
        report.checkpoints += 1
        key = keys_by_id.get(record.key_id)
        if key is None or key.purpose != "checkpoint" or doc.get("key") != record.key_id:
            bad(where, f"signed by unknown key {record.key_id!r}")
        elif not key.covers(at):
            bad(where, f"signed at {doc['at']} outside the window of key {record.key_id}")
        elif not key.verify(record.signature, record.canonical):
            bad(where, "signature does not verify")
        if previous is not None:
            if size == previous[0] and root != previous[2]:
                bad(where, "fork: another checkpoint of the same size has a different root")
                continue
            if at < previous[1] and size > previous[0]:
                bad(where, "is dated before a smaller checkpoint")
        if size > len(indices):
            bad(where, f"covers {size} entries but the ledger holds {len(indices)} indexed entries (truncated)")
            previous = (size, at, root)
            continue
        while position < size:
            leaf = leaves.get(position)
            if leaf is None:
                break
            frontier_append(frontier, leaf)
            position += 1
        if frontier_size(frontier) != size:
            bad(where, f"Merkle root cannot be recomputed: global index {position} it covers is missing "
                       "(an entry was deleted)")
        elif frontier_root(frontier).hex() != root:
            culprit = leaf_owner.get(size - 1, "")
            bad(where, f"Merkle root does not match the entries it covers (edited, reordered or "
                       f"removed entries up to index {size - 1}; last covered: {culprit})")
        previous = (size, at, root)
    covered = max((item[0] for item in parsed), default=0)
    report.uncheckpointed = max(0, report.entries - covered)


# --- Reading a bundle --------------------------------------------------------------------


class BundleError(Exception):
    """The bundle (or proof, or key file) is unusable: missing, truncated or malformed."""


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
            if len(parts) != 6:
                raise BundleError(f"entries.tsv line {number} is malformed (expected 6 fields)")
            if len(parts[3]) != 88 or len(parts[1]) != 64 or not _HEX.issuperset(parts[1]):
                raise BundleError(f"entries.tsv line {number} is malformed (hash or signature)")
            try:
                yield EntryRecord(
                    canonical=parts[0], hash=parts[1].decode("ascii"), key_id=parts[2].decode("ascii"),
                    signature=parts[3], signature_is_base64=True,
                    index=int(parts[4]) if parts[4] else None,
                    columns=parts[5] or None, locator=f"line {number}",
                )
            except (ValueError, UnicodeDecodeError) as exc:
                raise BundleError(f"entries.tsv line {number} is malformed: {exc}") from None


def read_checkpoints(path: str) -> list[CheckpointRecord]:
    records = []
    with _open_bundle_file(path) as handle:
        for number, line in enumerate(handle, 1):
            parts = line.rstrip(b"\n").split(b"\t")
            if len(parts) != 3:
                raise BundleError(f"checkpoints.tsv line {number} is malformed")
            try:
                records.append(CheckpointRecord(parts[0], parts[1].decode("ascii"),
                                                base64.b64decode(parts[2], validate=True)))
            except (ValueError, UnicodeDecodeError) as exc:
                raise BundleError(f"checkpoints.tsv line {number} is malformed: {exc}") from None
    return records


def load_keys(items) -> list[PublicKey]:
    try:
        keys = [PublicKey.from_json(item) for item in items]
        for key in keys:
            if len(bytes.fromhex(key.public_hex)) != 32:
                raise ValueError("an Ed25519 public key has 32 bytes")
            if key.valid_from is None or any(t is not None and t.tzinfo is None for t in (key.valid_from, key.valid_until)):
                raise ValueError(f"key {key.key_id}: validity times must be UTC (...Z)")
        return keys
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise BundleError(f"the key file is not a list of Tamkeen public keys: {exc}") from None


def verify_bundle(directory: str, *, check_signatures=False, keys_file=None, progress=None) -> Report:
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
            raise BundleError(f"{name} does not match the manifest (truncated or altered)")
    keys = load_keys(_read_json(keys_file or os.path.join(directory, "keys.json")))
    machines = _read_json(os.path.join(directory, "state_machines.json"))
    live = _read_json(os.path.join(directory, "live_state.json"))
    try:
        StateMachines(machines)
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        raise BundleError(f"state_machines.json is not a set of state machines: {exc!r}") from None
    if not isinstance(live, dict) or not all(isinstance(v, dict) for v in live.values()):
        raise BundleError("live_state.json is not a mapping of entity types to {id: state}")
    return verify_ledger(
        read_entries(os.path.join(directory, "entries.tsv")),
        read_checkpoints(os.path.join(directory, "checkpoints.tsv")),
        keys, machines, live, check_signatures=check_signatures, progress=progress,
    )


def verify_signatures_parallel(directory: str, keys_file=None, workers: int | None = None) -> tuple[int, list]:
    """Check every entry signature using all cores; returns (count, problems)."""
    from concurrent.futures import ProcessPoolExecutor

    keys = [k.__dict__ | {"_verifier": None} for k in load_keys(
        _read_json(keys_file or os.path.join(directory, "keys.json")))]
    path = os.path.join(directory, "entries.tsv")
    size = os.path.getsize(path)
    workers = workers or os.cpu_count() or 1
    bounds = [size * i // workers for i in range(workers + 1)]
    with ProcessPoolExecutor(workers) as pool:
        results = list(pool.map(_check_signature_range, [path] * workers, bounds[:-1], bounds[1:],
                                [keys] * workers))
    return sum(r[0] for r in results), [p for r in results for p in r[1]]


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
            key = keys.get(parts[2].decode("ascii", "replace")) if len(parts) == 6 else None
            count += 1
            try:
                valid = key is not None and key.verify(base64.b64decode(parts[3]), bytes.fromhex(parts[1].decode()))
            except (ValueError, UnicodeDecodeError):
                valid = False
            if not valid:
                problems.append(Problem(f"entries.tsv entry {count} of its range ({parts[1][:16].decode('ascii', 'replace')})",
                                        "signature does not verify"))
    return count, problems


# --- Inclusion proofs ------------------------------------------------------------------


_MALFORMED_PROOF = "the proof is malformed"


def verify_proof(proof: dict, keys: list[PublicKey] | None = None) -> list[str]:
    """Check one entry's inclusion proof; returns the list of problems (empty when valid)."""
    problems = []
    try:
        if proof.get("format") != PROOF_FORMAT:
            return ["not a Tamkeen inclusion proof"]
        keys = keys if keys is not None else load_keys(proof["keys"])
        by_id = {k.key_id: k for k in keys}
        canonical = proof["entry"]["canonical"].encode("utf-8")
        digest = entry_hash(canonical)
        if digest != proof["entry"]["hash"]:
            problems.append("the entry's hash does not match its bytes")
        doc = json.loads(canonical)
        entry_key = by_id.get(proof["entry"]["key_id"])
        if entry_key is None or entry_key.purpose != "entry":
            problems.append("the entry is signed by an unknown key")
        elif not entry_key.covers(parse_time(doc["at"])):
            problems.append("the entry is signed outside its key's window")
        elif not entry_key.verify(base64.b64decode(proof["entry"]["signature"]), bytes.fromhex(digest)):
            problems.append("the entry's signature does not verify")
        cp_bytes = proof["checkpoint"]["canonical"].encode("utf-8")
        cp = json.loads(cp_bytes)
        cp_key = by_id.get(proof["checkpoint"]["key_id"])
        if cp_key is None or cp_key.purpose != "checkpoint":
            problems.append("the checkpoint is signed by an unknown key")
        elif not cp_key.covers(parse_time(cp["at"])):
            problems.append("the checkpoint is signed outside its key's window")
        elif not cp_key.verify(base64.b64decode(proof["checkpoint"]["signature"]), cp_bytes):
            problems.append("the checkpoint's signature does not verify")
        path = [base64.b64decode(h) for h in proof["path"]]
        index, size = int(proof["index"]), int(cp["size"])
        try:
            root = root_from_inclusion_path(leaf_hash(digest), index, size, path)
        except ValueError as exc:  # a path that cannot belong to that index: invalid, not malformed
            problems.append(f"the audit path does not lead to the checkpoint's root ({exc})")
        else:
            if root.hex() != cp["root"]:
                problems.append("the audit path does not lead to the checkpoint's root")
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        problems.append(f"{_MALFORMED_PROOF}: {exc!r}")
    return problems


# --- Command line ----------------------------------------------------------------------


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="verify.py",
        description="Verify a Tamkeen evidence bundle or inclusion proof offline.",
    )
    parser.add_argument("bundle", nargs="?", help="the bundle directory written by 'manage.py audit export'")
    parser.add_argument("--signatures", action="store_true", help="also check every entry signature (all cores)")
    parser.add_argument("--keys", help="use this public-key file instead of the bundle's keys.json")
    parser.add_argument("--proof", help="verify an inclusion proof written by 'manage.py audit prove'")
    parser.add_argument("--quiet", action="store_true", help="print only the result")
    args = parser.parse_args(argv)
    try:
        if args.proof:
            proof = _read_json(args.proof)
            if not isinstance(proof, dict):
                raise BundleError("the proof file is not a JSON object")
            keys = load_keys(_read_json(args.keys)) if args.keys else None
            problems = verify_proof(proof, keys)
            malformed = next((p for p in problems if p.startswith(_MALFORMED_PROOF)), None)
            if malformed:
                raise BundleError(malformed)
            for problem in problems:
                print(f"PROOF INVALID: {problem}")
            if not problems:
                print(f"proof valid: entry at index {proof['index']} is in the signed checkpoint of size "
                      f"{json.loads(proof['checkpoint']['canonical'])['size']}")
            return 1 if problems else 0
        if not args.bundle:
            parser.error("give a bundle directory or --proof FILE")

        def progress(count):
            if not args.quiet:
                print(f"\r  {count:,} entries read", end="", file=sys.stderr, flush=True)

        report = verify_bundle(args.bundle, keys_file=args.keys, progress=progress)
        if not args.quiet:
            print(file=sys.stderr)
        if args.signatures:
            count, problems = verify_signatures_parallel(args.bundle, keys_file=args.keys)
            report.signatures_checked = count
            report.problems.extend(problems)
        print(report.summary())
        return 0 if report.ok else 1
    except BundleError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"error: cannot read the input: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
