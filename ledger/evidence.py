"""Verification of the ledger in the database, evidence bundles and inclusion proofs.

All checks are those of the standalone verifier (``tamkeen_verify``): the database is
read into the same records a bundle holds, so ``manage.py audit verify`` and an
auditor's offline check cannot disagree.
"""

import base64
import contextlib
import gc
import hashlib
import hmac
import itertools
import json
import os
import shutil
from pathlib import Path

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from core.transactions import consistent_read
from ledger.canonical import canonical_bytes, format_time
from ledger.keys import key_windows, key_windows_and_trusted, root_public_key, signer_for
from ledger.machines import (
    audited_models,
    definitions,
    live_rows_of,
    live_rows_without_chain,
    live_state_of,
    write_live_states,
)
from ledger.models import AuditEntry, Checkpoint, LedgerLeaf, WitnessCosignature
from ledger.tamkeen_verify import (
    BUNDLE_FORMAT,
    PROOF_FORMAT,
    CheckpointRecord,
    EntryRecord,
    LiveRows,
    Problem,
    PublicKey,
    SinceCheckpoint,
    definitions_digest,
    frontier_append,
    frontier_size,
    key_id_for,
    leaf_hash,
    manifest_message,
    merkle_root,
    newest_checkpoint,
    parse_time,
    root_from_inclusion_path,
    verify_ledger,
)
from ledger.tree import StoredTree, StoredTreeIncomplete, stored_size

VERIFIER_SOURCE = Path(__file__).with_name("tamkeen_verify.py")
CHUNK = 5000
# From how many entries one chain's signatures are checked on several threads.
CHAIN_THREADS_FROM = 500


def _leaf_or_none(row):
    try:
        return row.leaf
    except LedgerLeaf.DoesNotExist:
        return None


def leaf_hashes(size: int) -> list[bytes]:
    """The RFC 6962 leaf hashes of the first ``size`` places of the tree, in order (fewer
    when places are missing)."""
    return [
        leaf_hash(h) for h in LedgerLeaf.objects.filter(index__lt=size).order_by("index")
        .values_list("entry__entry_hash", flat=True).iterator(chunk_size=CHUNK)
    ]


def checkpoint_records():
    """Every checkpoint as the verifier reads it, oldest first: read in chunks of plain
    values, without the integrator's stored frontier (it is not evidence), so reading
    thousands of checkpoints costs only the records kept."""
    rows = (Checkpoint.objects.order_by("size", "created_at", "id")
            .values_list("canonical", "key_id", "signature", "consistency", "size", "root_hash")
            .iterator(chunk_size=500))
    return [
        CheckpointRecord(bytes(canonical), key_id, bytes(signature), [base64.b64decode(h) for h in consistency],
                         (size, root))
        for canonical, key_id, signature, consistency, size, root in rows
    ]


def public_keys() -> list[PublicKey]:
    return [PublicKey.from_json(w.as_json()) for w in key_windows()]


def cosignatures_by_checkpoint() -> dict:
    """The witnesses' cosignatures, by the SHA-256 of the checkpoint's signed bytes."""
    found: dict = {}
    for row in WitnessCosignature.objects.select_related("checkpoint").order_by("checkpoint_id", "witness_key_id"):
        sha = hashlib.sha256(bytes(row.checkpoint.canonical)).hexdigest()
        found.setdefault(sha, []).append({"witness": row.witness_key_id, "time": row.time,
                                          "signature": base64.b64encode(bytes(row.signature)).decode()})
    return found


def key_file() -> dict:
    """The keys as a bundle carries them: the root the server is configured with (the
    auditor compares it with their trust file's) and every key with its certificate."""
    root = root_public_key()
    return {"root": {"id": key_id_for(root), "public_key": root} if root else None,
            "keys": [w.as_json() for w in key_windows()]}


def trusted_public_keys() -> list[PublicKey]:
    """The keys the pinned root certified, with their windows."""
    return [PublicKey.from_json(w.as_json()) for w in key_windows(trusted_only=True)]


def public_and_trusted_keys() -> tuple[list[PublicKey], list[PublicKey]]:
    """``public_keys()`` and ``trusted_public_keys()`` from one read of the keys."""
    every, trusted = key_windows_and_trusted()
    return ([PublicKey.from_json(w.as_json()) for w in every],
            [PublicKey.from_json(w.as_json()) for w in trusted])


class SinceUnavailable(Exception):
    """The checkpoint ``--since`` names is not in the ledger (or not readable)."""


def verify_database(*, full=False, progress=None, trust=None, since=None, workers=1):
    """Verify the whole ledger as the database holds it now (one consistent snapshot).
    ``trust``: the auditor's trust file (``tamkeen_verify.Trust``) — its root key and
    kept checkpoint; without it, the root pinned in the settings. ``workers``: processes
    checking the signatures (with ``full``). ``since``: a checkpoint's size (int), ``"id:N"``
    or ``"trust"`` (the trust file's kept checkpoint): check only what is new after it
    (see ``since_checkpoint`` and docs/ledger.md)."""
    with consistent_read():
        common = {
            "check_signatures": full, "progress": progress, "signature_workers": workers if full else 1,
            "root_public_key": trust.root_public_key if trust else root_public_key(),
            "trust": "trust file" if trust else "configuration",
            "trusted_checkpoint": trust.checkpoint if trust else None,
        }
        # Chain by chain, each chain compared with its live row and forgotten, and the
        # tree from the leaves in index order: memory does not grow with the ledger.
        if since is None:
            return verify_ledger(entry_records_by_chain(), checkpoint_records(), public_keys(), definitions(),
                                 None, leaves=leaf_records(), live_rows=DatabaseLiveRows(), **common)
        base = since_checkpoint(since, trust)
        later = [c for c in checkpoint_records() if c.canonical != base.record.canonical
                 and _signed_size(c) >= base.size]
        touched = TouchedChains(base.size)
        report = verify_ledger(touched.entry_records(), later, public_keys(), definitions(), None, since=base,
                               leaves=leaf_records(base.size), live_rows=DatabaseLiveRows(unchained=False), **common)
        report.since = {"size": base.size, "root": base.root, "chains": touched.count}
        return report


class DatabaseLiveRows(LiveRows):
    """The live rows of the database, looked up a batch of chains at a time
    (``tamkeen_verify.LiveRows``). ``unchained``: also report the rows without a chain
    (not with ``--since``, which compares only the chains it replays)."""

    BATCH = 1000

    def __init__(self, *, unchained=True):
        self.models = {label: (model, spec) for label, model, spec in audited_models()}
        self.types = frozenset(self.models)
        self.unchained = unchained

    def rows(self, keys):
        wanted: dict = {}
        for entity_type, entity_id in keys:
            if entity_type in self.models:
                wanted.setdefault(entity_type, []).append(entity_id)
        found = {}
        for entity_type, ids in wanted.items():
            model, spec = self.models[entity_type]
            for start in range(0, len(ids), self.BATCH):
                for entity_id, row in live_rows_of(entity_type, ids[start:start + self.BATCH], model, spec).items():
                    found[(entity_type, entity_id)] = row
        return found

    def without_chain(self):
        if not self.unchained:
            return
        for entity_type, (model, spec) in self.models.items():
            for entity_id, row in live_rows_without_chain(entity_type, model, spec):
                yield entity_type, entity_id, row


class TouchedChains:
    """The chains (entity type, id) with an entry after the tree of ``size`` leaves — one
    integrated at or after that size, or not integrated yet — read in order from a
    server-side cursor, and their entries a batch of chains at a time."""

    BATCH = 500

    def __init__(self, size: int):
        self.size = size
        self.count = 0  # the chains read so far

    def keys(self):
        fresh = AuditEntry.objects.filter(Q(leaf__isnull=True) | Q(leaf__index__gte=self.size))
        return (fresh.order_by("entity_type", "entity_id").values_list("entity_type", "entity_id").distinct()
                .iterator(chunk_size=CHUNK))

    def entry_records(self):
        """Every entry of the touched chains, chain by chain and in id order within a chain."""
        batch: list = []
        for key in self.keys():
            self.count += 1
            batch.append(key)
            if len(batch) == self.BATCH:
                yield from self._batch(batch)
                batch = []
        if batch:
            yield from self._batch(batch)

    @staticmethod
    def _batch(keys):
        wanted: dict = {}
        for entity_type, entity_id in keys:
            wanted.setdefault(entity_type, []).append(entity_id)
        condition = Q()
        for entity_type, ids in wanted.items():
            condition |= Q(entity_type=entity_type, entity_id__in=ids)
        return entry_records_by_chain(AuditEntry.objects.filter(condition))


def leaf_records(start: int = 0):
    """(index, entry hash, entry id) of every leaf from ``start`` on, in index order, read
    in chunks (a server-side cursor on PostgreSQL)."""
    return (LedgerLeaf.objects.filter(index__gte=start).order_by("index")
            .values_list("index", "entry__entry_hash", "entry_id").iterator(chunk_size=CHUNK))


def _signed_size(record) -> int:
    try:
        return int(json.loads(record.canonical)["size"])
    except (ValueError, KeyError, TypeError):
        return -1  # malformed: kept, the checks say so


def since_checkpoint(since, trust=None) -> SinceCheckpoint:
    """The checkpoint a verification ``--since`` starts from, with the frontier of the
    tree of its size recomputed from the leaves (the entry hashes of the first ``size``
    places, one column read in index order: no entry is parsed). Raises SinceUnavailable."""
    if since == "trust":
        if trust is None or trust.checkpoint_record is None:
            raise SinceUnavailable("--since trust needs --trust FILE with a kept checkpoint")
        kept = trust.checkpoint_record
        record = CheckpointRecord(kept["canonical"].encode("utf-8"), kept["key_id"],
                                  base64.b64decode(kept["signature"]))
    else:
        rows = Checkpoint.objects.all()
        text = str(since)
        try:
            rows = rows.filter(pk=int(text[3:])) if text.startswith("id:") else rows.filter(size=int(text))
        except ValueError:
            raise SinceUnavailable(f"--since {since!r}: give a checkpoint's size, id:N or 'trust'") from None
        row = rows.order_by("created_at", "id").first()
        if row is None:
            raise SinceUnavailable(f"no checkpoint {since}: 'manage.py audit verify --json' lists none by that "
                                   "size; give the size or id:N of an existing checkpoint")
        record = CheckpointRecord(bytes(row.canonical), row.key_id, bytes(row.signature),
                                  [base64.b64decode(h) for h in row.consistency], (row.size, row.root_hash))
    try:
        document = json.loads(record.canonical)
        size, root, at = int(document["size"]), str(document["root"]), parse_time(document["at"])
    except (ValueError, KeyError, TypeError, AttributeError):
        raise SinceUnavailable(f"the checkpoint {since} is malformed: verify the whole ledger") from None
    frontier: list = []
    last = -1
    while True:
        rows = list(LedgerLeaf.objects.filter(index__gt=last, index__lt=size).order_by("index")
                    .values_list("index", "entry__entry_hash")[:CHUNK])
        if not rows:
            break
        for index, digest in rows:
            if index != frontier_size(frontier):
                break  # a hole: the frontier stops short, and the verification says where
            frontier_append(frontier, leaf_hash(digest))
        else:
            last = rows[-1][0]
            continue
        break
    return SinceCheckpoint(record, size, root, at, frontier)


_RECORD_COLUMNS = (
    "id", "entity_type", "entity_id", "seq", "transition", "from_state", "to_state", "actor_id", "actor_role",
    "request_id", "payload", "created_at", "canonical", "prev_hash", "entry_hash", "key_id", "signature",
    "leaf__index",
)


def _entry_records(rows):
    for (pk, etype, eid, seq, name, source, target, actor, role, request_id, payload, at,
         canonical, prev, digest, key_id, signature, index) in rows:
        columns = {
            "entity_type": etype, "entity_id": eid, "seq": seq, "transition": name, "from": source,
            "to": target, "actor": actor, "role": role, "request_id": request_id, "payload": payload,
            "prev": prev, "at": format_time(at),
        }
        yield EntryRecord(
            canonical=bytes(canonical), hash=digest, key_id=key_id, signature=bytes(signature),
            index=index, columns=canonical_bytes(columns), entry_id=pk,
        )


def entry_records_fast(queryset=None):
    """Entries with their leaf index, read in id order, in chunks (no per-row queries);
    ``queryset``: only those (default: every entry)."""
    queryset = AuditEntry.objects.all() if queryset is None else queryset
    last_id = 0
    while True:
        rows = list(queryset.filter(id__gt=last_id).order_by("id").values_list(*_RECORD_COLUMNS)[:CHUNK])
        if not rows:
            return
        yield from _entry_records(rows)
        last_id = rows[-1][0]


def entry_records_by_chain(queryset=None):
    """Entries with their leaf index chain by chain (by entity type and id) and in id
    order within a chain — the order in which they were inserted, as in
    ``entry_records_fast`` — read in chunks from one query (a server-side cursor on
    PostgreSQL, which walks the (entity type, entity id, seq) index and sorts each
    chain's few entries by id). ``queryset``: only those (default: every entry)."""
    queryset = AuditEntry.objects.all() if queryset is None else queryset
    rows = queryset.order_by("entity_type", "entity_id", "id").values_list(*_RECORD_COLUMNS)
    yield from _entry_records(rows.iterator(chunk_size=CHUNK))


def _write_lines(path: Path, lines) -> int:
    count = 0
    with open(path, "wb") as handle:
        for line in lines:
            handle.write(line)
            count += 1
    return count


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def export_bundle(out: Path, *, progress=None) -> dict:
    """Write an evidence bundle into the new directory ``out``; returns the manifest."""
    out.mkdir(parents=True, exist_ok=False)
    with consistent_read():

        def entry_lines():
            for number, r in enumerate(entry_records_fast(), 1):
                if progress and number % 1000 == 0:
                    progress(number)
                yield b"\t".join([
                    r.canonical, r.hash.encode(), r.key_id.encode(), base64.b64encode(r.signature),
                    b"" if r.index is None else str(r.index).encode(), r.columns, str(r.entry_id).encode(),
                ]) + b"\n"

        entries = _write_lines(out / "entries.tsv", entry_lines())
        records = checkpoint_records()
        checkpoints = _write_lines(out / "checkpoints.tsv", (
            b"\t".join([c.canonical, c.key_id.encode(), base64.b64encode(c.signature),
                        b",".join(base64.b64encode(h) for h in c.consistency)]) + b"\n"
            for c in records
        ))
        (out / "keys.json").write_text(json.dumps(key_file(), indent=2))
        (out / "cosignatures.json").write_text(json.dumps(cosignatures_by_checkpoint(), indent=1, sort_keys=True))
        (out / "state_machines.json").write_text(json.dumps(definitions(), indent=2, sort_keys=True))
        with open(out / "live_state.json", "w", encoding="utf-8") as handle:
            write_live_states(handle)  # json.dumps(live_states(), sort_keys=True), a chunk of rows at a time
    shutil.copyfile(VERIFIER_SOURCE, out / "verify.py")
    (out / "README.txt").write_text(
        "Tamkeen evidence bundle.\n\n"
        "Verify it with YOUR OWN copy of the verifier (pip install ./verifier from the Tamkeen repository,\n"
        "needs Python 3.11+ and 'cryptography'), against the trust file you keep:\n"
        "    tamkeen-verify . --trust trust.json --signatures --update-trust\n"
        "The verify.py in this bundle is a convenience copy: a bundle could carry a verifier that lies.\n"
        "Without --trust, the keys and checkpoints are taken from this bundle itself and prove nothing\n"
        "against its administrator.\n"
    )
    names = ["entries.tsv", "checkpoints.tsv", "keys.json", "cosignatures.json", "state_machines.json",
             "live_state.json", "verify.py"]
    now = timezone.now()
    newest = newest_checkpoint(records)
    manifest = {
        "format": BUNDLE_FORMAT,
        "created_at": format_time(now),
        "entries": entries,
        "checkpoints": checkpoints,
        "files": {name: _sha256(out / name) for name in names},
        "newest_checkpoint": newest["canonical"] if newest else None,
        "definitions": definitions_digest(definitions()),
    }
    # Signed by the checkpoint key: export where the integrator (and its key) runs.
    window, private_key = signer_for("checkpoint", now)
    manifest["signature"] = {"key_id": window.key_id,
                             "signature": base64.b64encode(private_key.sign(manifest_message(manifest))).decode()}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True))
    return manifest


class ProofUnavailable(Exception):
    pass


class ProofInvalid(ProofUnavailable):
    """The proof built from the stored tree does not lead to the signed root: the entry,
    its place or the stored tree was altered."""


def _signed_size(checkpoint):
    size = json.loads(bytes(checkpoint.canonical)).get("size")
    return size if isinstance(size, int) and not isinstance(size, bool) else None


def _newest_checkpoint_covering(index: int):
    """The newest checkpoint whose signed size covers leaf ``index``. Rows are visited
    newest first by their size column, but chosen by their signed size."""
    newest_first = Checkpoint.objects.defer("frontier", "consistency").order_by("-size", "-created_at")
    for checkpoint in itertools.chain(newest_first[:3], newest_first[3:].iterator(chunk_size=100)):
        size = _signed_size(checkpoint)
        if size is not None and size > index:
            return checkpoint, size
        if size is not None and size == checkpoint.size and checkpoint.size <= index:
            return None, None  # signed and smaller: every row after it is smaller still
    return None, None


def _path_to_root(entry_hash: str, index: int, size: int, root_hex: str) -> list[bytes]:
    """The audit path of leaf ``index`` in the tree of ``size`` leaves, from the stored
    tree, checked against the signed ``root_hex``: ``ProofInvalid`` when it does not
    lead there, ``StoredTreeIncomplete`` when a tile it needs is missing."""
    path = StoredTree().inclusion_path(index, size)
    if root_from_inclusion_path(leaf_hash(entry_hash), index, size, path).hex() != root_hex:
        raise ProofInvalid(
            f"the inclusion proof of the entry at index {index}, built from the stored tree, does not lead to the "
            f"signed root of the checkpoint of size {size}: the entry, its place or the stored tree was altered. "
            "Run 'manage.py audit verify' to locate it."
        )
    return path


def inclusion_proof(entry_id: int) -> dict:
    """The proof that entry ``entry_id`` is in the latest signed checkpoint covering it:
    O(log n) reads of the stored tree (``ledger.tree``), the path checked against the
    checkpoint's signed root before it is given (``ProofInvalid`` otherwise)."""
    entry = AuditEntry.objects.filter(pk=entry_id).select_related("leaf").first()
    if entry is None:
        raise ProofUnavailable(f"no audit entry with id {entry_id}")
    leaf = _leaf_or_none(entry)
    if leaf is None:
        raise ProofUnavailable(
            f"entry {entry_id} is not integrated yet: run 'manage.py audit checkpoint' and try again"
        )
    checkpoint, size = _newest_checkpoint_covering(leaf.index)
    if checkpoint is None:
        raise ProofUnavailable(
            f"no signed checkpoint covers entry {entry_id} yet: run 'manage.py audit checkpoint --force'"
        )
    try:
        path = _path_to_root(entry.entry_hash, leaf.index, size, json.loads(bytes(checkpoint.canonical))["root"])
    except StoredTreeIncomplete as exc:
        raise ProofUnavailable(f"the stored tree cannot give this proof ({exc}): run 'manage.py audit checkpoint', "
                               "which fills it in, and try again; if it persists, run 'manage.py audit verify'") from None
    keys = {w.key_id: w.as_json() for w in key_windows()}
    return {
        "format": PROOF_FORMAT,
        "entry": {
            "id": entry.pk, "canonical": bytes(entry.canonical).decode("utf-8"), "hash": entry.entry_hash,
            "key_id": entry.key_id, "signature": base64.b64encode(bytes(entry.signature)).decode(),
        },
        "index": leaf.index,
        "checkpoint": {
            "canonical": bytes(checkpoint.canonical).decode("utf-8"), "key_id": checkpoint.key_id,
            "signature": base64.b64encode(bytes(checkpoint.signature)).decode(),
        },
        "path": [base64.b64encode(h).decode() for h in path],
        "keys": [keys[k] for k in sorted({entry.key_id, checkpoint.key_id}) if k in keys],
        "root": {"id": key_id_for(root), "public_key": root} if (root := root_public_key()) else None,
    }


def verify_entity(entity, rows=None):
    """Verify one entity's chain: every hash, link, column, signature and key window, the
    replay through its state machine, and that the replay ends in the live row (its
    state, chain head and folded fields, as ``verify_database`` compares them).
    ``rows``: the entity's entries (``AuditEntry`` objects) in seq order, when the caller
    has read them already; otherwise the chain is read in one query of plain values."""
    if rows is None:
        return verify_entity_records(entity, chain_records(entity)[0])
    records = [
        EntryRecord(
            canonical=bytes(row.canonical), hash=row.entry_hash, key_id=row.key_id,
            signature=bytes(row.signature), index=None,
            columns=canonical_bytes(row.column_values()), entry_id=row.pk,
        )
        for row in rows
    ]
    return verify_entity_records(entity, records)


def chain_records(entity) -> tuple[list[EntryRecord], list[tuple]]:
    """``entity``'s entries in seq order, read in one query of plain values (no model
    objects, the records made as ``entry_records_fast`` makes them): the verifier's
    records, and (id, seq, hash, leaf index) of each for its anchoring. Leaf indices are
    left out of the records: one chain's leaves are scattered through the tree, and
    checkpoint roots are checked by the whole-ledger verification."""
    rows = list(AuditEntry.objects.for_entity(entity).order_by("seq").values_list(*_RECORD_COLUMNS))
    records = list(_entry_records(rows))
    for record in records:
        record.index = None
    anchor = [_RECORD_COLUMNS.index(name) for name in ("id", "seq", "entry_hash", "leaf__index")]
    anchors = [tuple(row[i] for i in anchor) for row in rows]
    return records, anchors


def verify_entity_records(entity, records, known=frozenset()):
    """``verify_entity`` on the chain's ``records`` (``EntryRecord``, in seq order);
    ``known``: the ids of the entries whose signature is sealed as checked."""
    from ledger.models import entity_type_of

    entity_type = entity_type_of(entity)
    machines = {k: v for k, v in definitions().items() if k == entity_type}
    row = live_state_of(entity)
    live = {entity_type: {} if row is None else {str(entity.pk): row}}
    # A long chain's signatures are checked on every core, on threads of this process.
    workers = min(os.cpu_count() or 1, 4) if len(records) - len(known) >= CHAIN_THREADS_FROM else 1
    return verify_ledger(records, [], public_keys(), machines, live, check_signatures=True,
                         root_public_key=root_public_key(), trust="configuration",
                         signature_workers=workers, signature_threads=True, known_signatures=known)


def checkpoint_signature_holds(checkpoint, keys) -> bool:
    """Whether ``checkpoint`` is signed by a checkpoint key of ``keys`` ({key id: key})."""
    key = keys.get(checkpoint.key_id)
    return (key is not None and key.purpose == "checkpoint"
            and key.verify(bytes(checkpoint.signature), bytes(checkpoint.canonical)))


# What the seal of checked signatures is computed with, besides the server's SECRET_KEY.
SEAL_SALT = "tamkeen.ledger.signatures-checked"


def signature_seal(records) -> str:
    """The seal of ``records``' signatures (``StoredVerification.signatures_seal``): an
    HMAC, keyed by the server's secret, of each record's key id, signature and hash in
    chain order. Only this server can make one; it matches only the same entries, signed
    the same way."""
    from django.utils.crypto import salted_hmac

    message = b"".join(record.key_id.encode() + b"\x00" + record.signature_bytes() + b"\x00"
                       + record.hash.encode() + b"\n" for record in records)
    return salted_hmac(SEAL_SALT, message, algorithm="sha256").hexdigest()


@contextlib.contextmanager
def _collector_paused():
    """A chain's verification makes thousands of short-lived records without cycles:
    Python's cyclic collector would only promote them while they live, then run full
    collections of the whole process (tens of milliseconds every few requests). It is
    paused while they exist; reference counting frees them."""
    running = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if running:
            gc.enable()


def verify_entity_anchored(entity, sealed: tuple[int, str] = (0, "")):
    """``verify_entity`` plus the anchor, for the auditors' "verify now": the newest
    checkpoint's signature, and the inclusion of the entity's newest entry it covers,
    proved from the stored tree (``ledger.tree``) and checked against its signed root.
    O(the chain + log n): no scan of the leaves. The entries before that one are
    anchored through it: the chain's links (checked by ``verify_entity``) make its hash
    commit to each of them.

    ``sealed``: (how many, seal) of the signatures the chain's previous verification
    checked (``StoredVerification``). When the seal still matches those first entries, their
    Ed25519 checks are skipped (``report.signatures_known``); any difference, or a seal
    this server did not make, means every signature is checked. The report carries the
    seal this verification may store (``report.signature_seal``: (0, "") unless the chain
    is intact).

    The cyclic collector is paused meanwhile (``_collector_paused``)."""
    with _collector_paused():
        return _verify_entity_anchored(entity, sealed)


def _verify_entity_anchored(entity, sealed: tuple[int, str] = (0, "")):
    """The work of ``verify_entity_anchored``."""
    from ledger.models import entity_type_of

    records, rows = chain_records(entity)
    count, seal = sealed
    known = frozenset()
    if seal and 0 < count <= len(records) and hmac.compare_digest(signature_seal(records[:count]), seal):
        known = frozenset(record.entry_id for record in records[:count])
    report = verify_entity_records(entity, records, known=known)
    report.signature_seal = (len(records), signature_seal(records)) if report.ok and records else (0, "")
    checkpoint = Checkpoint.objects.defer("frontier", "consistency").order_by("-size", "-created_at").first()
    if checkpoint is None:
        report.uncheckpointed = len(rows)
        return report, None
    document = json.loads(bytes(checkpoint.canonical))
    size = _signed_size(checkpoint)
    where = {"checkpoint_size": size if size is not None else checkpoint.size, "checkpoint_at": document.get("at")}
    if not checkpoint_signature_holds(checkpoint, {k.key_id: k for k in trusted_public_keys()}):
        report.problems.append(Problem("checkpoint_bad_signature", _("signature does not verify"), **where))
    if size is None:
        report.problems.append(Problem("checkpoint_malformed", _("the checkpoint's signed size is unreadable"),
                                       **where))
        report.uncheckpointed = len(rows)
        return report, checkpoint
    covered = [row for row in rows if row[3] is not None and row[3] < size]
    report.uncheckpointed = len(rows) - len(covered)
    if covered:
        entry_id, seq, digest, index = covered[-1]
        problem = _inclusion_problem(digest, index, size, document.get("root"))
        if problem:
            report.problems.append(Problem(
                "proof_path_invalid", problem, entity_type=entity_type_of(entity), entity_id=str(entity.pk),
                seq=seq, entry_id=entry_id, entry_hash=digest, index=index, **where,
            ))
    return report, checkpoint


def _inclusion_problem(entry_hash, index, size, root_hex) -> str | None:
    """Why the entry at ``index`` is not shown in the tree of ``size`` leaves whose
    signed root is ``root_hex`` (None when it is)."""
    try:
        _path_to_root(entry_hash, index, size, root_hex)
    except ProofInvalid:
        return _("its inclusion proof, built from the stored tree, does not lead to the checkpoint's signed root: "
                 "the entry, its place or the stored tree was altered")
    except StoredTreeIncomplete:
        if stored_size() >= size:
            return _("the stored tree lacks a hash its inclusion proof needs: tiles were deleted")
        # A ledger from before the stored tree, not filled in yet (the integrator's next
        # run does it): recompute the root from every leaf, once.
        leaves = leaf_hashes(size)
        if len(leaves) != size or merkle_root(leaves).hex() != root_hex:
            return _("the Merkle root does not match the entries the checkpoint covers")
    return None
