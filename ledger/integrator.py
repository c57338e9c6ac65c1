"""The integrator: gives audit entries their place in the global Merkle tree, stores the
tree's tiles (``ledger.tree``) and signs checkpoints.

One integrator runs at a time (a PostgreSQL advisory lock held for the run; on SQLite
the write transactions serialise it). Entry ids are allocated when rows are inserted
but become visible when their transaction commits, so ids commit out of order: taking
"all ids up to max(id)" would skip an entry whose transaction commits just after the
read. Instead each entry records its inserting transaction id (``xact_id``, set by a
trigger), and a run takes only entries whose transaction is older than every running
snapshot (``pg_snapshot_xmin``): those can no longer change, and every entry of an
older transaction is already visible. The next run starts from that horizon.

A run takes everything settled, however much: in batches of at most ``BATCH`` entries,
each committed with its leaves, its tiles and the checkpoint it completes, so memory
stays bounded and a crash loses one batch at most (the next run finds the entries still
without a leaf). A checkpoint is signed every ``TAMKEEN_CHECKPOINT_EVERY_ENTRIES``
entries as the run goes (a batch ends where the next checkpoint falls), and at the end
when the last one is older than ``TAMKEEN_CHECKPOINT_EVERY_SECONDS``.
"""

import base64
import hashlib
import io
import json
import logging
from contextlib import contextmanager
from dataclasses import dataclass

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import Count, F, Max, Min
from django.utils import timezone

from ledger import memory, tree
from ledger.canonical import canonical_bytes, format_time
from ledger.keys import signer_for
from ledger.models import AuditEntry, Checkpoint, IntegratorState, LedgerLeaf
from ledger.signals import checkpoint_signed, integrity_alert
from ledger.tamkeen_verify import (
    CHECKPOINT_VERSION,
    EMPTY_ROOT,
    consistency_proof_from_frontier,
    definitions_digest,
    frontier_append,
    frontier_from_json,
    frontier_root,
    frontier_size,
    frontier_to_json,
    leaf_hash,
    verify_consistency,
)

logger = logging.getLogger("tamkeen.audit.integrator")
ADVISORY_LOCK_KEY = 0x7A6B_4C01  # "Tamkeen ledger integrator"
BATCH = 10_000  # entries per transaction: bounds the run's memory and what a crash loses
BACKFILL_CHUNK = 50_000  # leaves read per transaction when the stored tree catches up


@dataclass
class IntegrationResult:
    integrated: int
    tree_size: int
    checkpoint: Checkpoint | None  # the last one this run signed
    skipped_locked: bool = False
    refused: str = ""  # why no checkpoint may be signed on this history (auditors alerted)
    checkpoints: int = 0  # how many this run signed
    backfilled: int = 0  # leaves added to the stored tree from before it existed


def _is_postgres():
    return connection.vendor == "postgresql"


def _snapshot_horizon(cursor) -> int:
    cursor.execute("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint")
    return cursor.fetchone()[0]


class Refusal(Exception):
    """The database's history is not the one this integrator signed: never sign on it."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code, self.message = code, message


@contextmanager
def _exclusive():
    """Whether this process is the only integrator, for the whole run (several
    transactions): a session-level advisory lock on PostgreSQL."""
    if not _is_postgres():
        yield True
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [ADVISORY_LOCK_KEY])
        acquired = cursor.fetchone()[0]
    try:
        yield acquired
    finally:
        if acquired:
            try:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_unlock(%s)", [ADVISORY_LOCK_KEY])
            except DatabaseError:  # an aborted outer transaction: the session's end releases it
                logger.exception("could not release the integrator's advisory lock")


def integrate(*, force_checkpoint=False, every_entries=None, every_seconds=None, batch=None,
              progress=None) -> IntegrationResult:
    """Integrate every settled entry, in batches; sign a checkpoint every N entries or
    T seconds — unless the database's checkpoints or leaves disagree with the last
    checkpoint this integrator signed (``ledger.memory``): then it signs nothing and
    alerts the auditors. ``progress(what, done, total)`` is called after each batch
    (``what``: "stored tree" while the tree of an older ledger is filled in, then
    "integrated")."""
    every_entries = every_entries or settings.TAMKEEN_CHECKPOINT_EVERY_ENTRIES
    every_seconds = every_seconds if every_seconds is not None else settings.TAMKEEN_CHECKPOINT_EVERY_SECONDS
    with _exclusive() as acquired:
        if not acquired:
            return IntegrationResult(0, 0, None, skipped_locked=True)
        return _Run(force_checkpoint, every_entries, every_seconds, batch or BATCH, progress).run()


class _Run:
    def __init__(self, force_checkpoint, every_entries, every_seconds, batch, progress):
        self.force_checkpoint, self.every_entries, self.every_seconds = force_checkpoint, every_entries, every_seconds
        self.batch, self.progress = batch, progress or (lambda what, done, total: None)

    def run(self) -> IntegrationResult:
        with transaction.atomic():
            horizon = None
            if _is_postgres():
                with connection.cursor() as cursor:
                    horizon = _snapshot_horizon(cursor)
            state, _created = IntegratorState.objects.select_for_update().get_or_create(id=1)
            last = _newest_signed_checkpoint()
            try:
                base = _base(last)
                pending = _pending_leaves(base.size)
            except Refusal as refusal:
                _alert(refusal, last)
                return IntegrationResult(0, last.size if last else 0, None, refused=refusal.message)
        size = base.size + len(pending)
        try:
            tiles, backfilled = self._stored_tree(size)
        except Refusal as refusal:
            _alert(refusal, last)
            return IntegrationResult(0, size, None, refused=refusal.message)

        definitions = _definitions()
        redefined = last is not None and json.loads(bytes(last.canonical)).get("definitions") != definitions
        self.base, self.pending, self.tiles = base, pending, tiles
        self.frontier = list(base.frontier)
        for leaf in pending:
            frontier_append(self.frontier, leaf)
        self.last_at = last.created_at if last else None
        integrated, signed, newest = 0, 0, None
        self.low, self.high = state.horizon, horizon
        first_id, self.last_id, backlog = _backlog(self.low, self.high)
        self.after_id = first_id - 1
        while True:
            room = self.batch
            if len(self.pending) < self.every_entries:
                room = min(room, self.every_entries - len(self.pending))
            with transaction.atomic():
                rows = self._next_rows(room)
                finished = self.after_id >= self.last_id
                if rows:
                    self._place(rows)
                    integrated += len(rows)
                now = timezone.now()
                due = len(self.pending) >= self.every_entries or (
                    self.pending and (self.last_at is None
                                      or (now - self.last_at).total_seconds() >= self.every_seconds)
                )
                if (self.pending and (due or (finished and self.force_checkpoint))) or (finished and redefined):
                    newest = self._sign(now, definitions)
                    signed += 1
                    redefined = False
                if finished and horizon is not None:
                    state.horizon = horizon
                    state.save(update_fields=["horizon", "updated_at"])
            if rows:
                self.progress("integrated", integrated, max(backlog, integrated))
            if finished:
                break
        size = self.base.size + len(self.pending)
        if integrated or signed:
            logger.info("integrated %d entries; tree size %d; %d checkpoint(s)%s", integrated, size, signed,
                        f", the last {newest.root_hash[:12]}" if newest else "")
        return IntegrationResult(integrated, size, newest, checkpoints=signed, backfilled=backfilled)

    def _next_rows(self, room):
        """The next ``room`` entries without a place, by id, read through windows of ids
        so that each query is a short range of the primary key (whatever the planner's
        statistics say after a burst): the cost of a run grows with its backlog, not
        with the ledger."""
        rows = []
        while len(rows) < room and self.after_id < self.last_id:
            wanted = room - len(rows)
            upto = min(self.after_id + max(4 * wanted, 1000), self.last_id)
            found = _candidates(self.low, self.high, self.after_id, upto, wanted)
            rows += found
            self.after_id = found[-1][0] if len(found) == wanted else upto
        return rows

    def _stored_tree(self, size):
        """The stored tree's right edge at ``size`` leaves; a ledger from before the stored
        tree (or a run that stopped between its commits) has its missing tiles filled in
        from the placed leaves first, in committed chunks."""
        stored = tree.stored_size()
        if stored > size:
            raise Refusal("stored_tree_ahead", f"the stored tree covers {stored} leaves but only {size} are placed: "
                                               "leaves were deleted")
        try:
            tiles = tree.TileBuilder.load(stored)
        except tree.StoredTreeIncomplete as exc:
            raise Refusal("stored_tree_damaged", f"the stored tree's right edge is damaged ({exc})") from None
        done = stored
        while done < size:
            end = min(done + BACKFILL_CHUNK, size)
            with transaction.atomic():
                hashes = _leaf_hashes_between(done, end)
                tiles.extend(hashes)
                tree.write_rows(tiles.take_rows())
            done = end
            self.progress("stored tree", done, size)
        if size > stored:
            logger.warning("stored tree filled in from leaf %d to %d", stored, size)
        return tiles, size - stored

    def _place(self, rows):
        """Give ``rows`` (id, entry hash) the next places, with their tiles."""
        first = self.base.size + len(self.pending)
        _insert_leaves(first, [entry_id for entry_id, _digest in rows])
        sha256 = hashlib.sha256
        leaves = [sha256(b"\x00" + bytes.fromhex(digest)).digest() for _entry_id, digest in rows]
        self.pending.extend(leaves)
        frontier = self.frontier
        for leaf in leaves:
            frontier_append(frontier, leaf)
        self.tiles.extend(leaves)
        tree.write_rows(self.tiles.take_rows())

    def _sign(self, now, definitions) -> Checkpoint:
        size = self.base.size + len(self.pending)
        proof = consistency_proof_from_frontier(self.base.frontier, self.pending)
        checkpoint = _sign_checkpoint(size, self.frontier, now, self.base, proof, definitions)
        signed = memory.Remembered.of(checkpoint, list(self.frontier))
        transaction.on_commit(lambda: memory.save(signed))
        transaction.on_commit(lambda: checkpoint_signed.send(sender=Checkpoint, checkpoint=checkpoint))
        self.base, self.pending, self.last_at = signed, [], now
        return checkpoint


def _candidates(low, high, after_id, upto, limit):
    """Up to ``limit`` entries without a place whose id is in (after_id, upto], by id: on
    PostgreSQL only those of transactions in [low, high) (settled, and not all
    integrated before)."""
    candidates = AuditEntry.objects.filter(id__gt=after_id, id__lte=upto, leaf__isnull=True)
    if high is not None:
        # "xact_id + 0": a filter on the window's rows, never a scan of the transaction
        # id's index over the whole backlog (which a planner tempted by it does on every
        # batch, 1 s a batch at 5 M entries).
        candidates = candidates.alias(xact=F("xact_id") + 0).filter(xact__gte=low, xact__lt=high)
    return list(candidates.order_by("id").values_list("id", "entry_hash")[:limit])


def _backlog(low, high) -> tuple[int, int, int]:
    """The first and last ids of the entries this run may take, and about how many
    there are (for the progress output): on PostgreSQL those of the settled
    transactions since the last run, read through the transaction id's index."""
    waiting = AuditEntry.objects.all()
    if high is None:
        waiting = waiting.filter(leaf__isnull=True)
    else:
        waiting = waiting.filter(xact_id__gte=low, xact_id__lt=high)
    found = waiting.aggregate(first=Min("id"), last=Max("id"), count=Count("id"))
    if found["first"] is None:
        return 0, 0, 0
    return found["first"], found["last"], found["count"]


def _insert_leaves(first_index: int, entry_ids: list[int]) -> None:
    """The leaves ``first_index``… for ``entry_ids``, in one statement (COPY on PostgreSQL)."""
    if _is_postgres():
        text = "".join(f"{first_index + n}\t{entry_id}\n" for n, entry_id in enumerate(entry_ids))
        with connection.cursor() as cursor:
            cursor.copy_expert(f"COPY {LedgerLeaf._meta.db_table} (index, entry_id) FROM STDIN", io.StringIO(text))
        return
    LedgerLeaf.objects.bulk_create(
        [LedgerLeaf(index=first_index + n, entry_id=entry_id) for n, entry_id in enumerate(entry_ids)],
        batch_size=5000,
    )


def _pending_leaves(size) -> list[bytes]:
    """The leaf hashes of the places given after the last checkpoint (of ``size``
    entries), which must follow it without a gap."""
    pending = []
    for index, entry_hash in (
        LedgerLeaf.objects.filter(index__gte=size).order_by("index")
        .values_list("index", "entry__entry_hash").iterator(chunk_size=5000)
    ):
        if index != size + len(pending):
            raise Refusal("leaf_gap", f"the leaves after the last checkpoint have a gap at index "
                                      f"{size + len(pending)}: an entry's place was deleted")
        pending.append(leaf_hash(entry_hash))
    return pending


def _leaf_hashes_between(start, end) -> list[bytes]:
    hashes = []
    for index, entry_hash in (
        LedgerLeaf.objects.filter(index__gte=start, index__lt=end).order_by("index")
        .values_list("index", "entry__entry_hash").iterator(chunk_size=5000)
    ):
        if index != start + len(hashes):
            raise Refusal("leaf_gap", f"the leaves have a gap at index {start + len(hashes)}: an entry's place "
                                      "was deleted")
        hashes.append(leaf_hash(entry_hash))
    if len(hashes) != end - start:
        raise Refusal("leaf_gap", f"the leaves have a gap at index {start + len(hashes)}: an entry's place was "
                                  "deleted")
    return hashes


def _definitions() -> str:
    from ledger.machines import definitions

    return definitions_digest(definitions())


def _newest_signed_checkpoint():
    """The newest checkpoint signed by a certified checkpoint key. A row anyone with
    INSERT rights planted (no valid signature) is passed over — the verifiers report it —
    rather than built upon or allowed to stop the integrator."""
    from ledger.evidence import checkpoint_signature_holds, trusted_public_keys

    keys = None
    for checkpoint in Checkpoint.objects.order_by("-size", "-created_at").iterator(chunk_size=20):
        if keys is None:
            keys = {k.key_id: k for k in trusted_public_keys()}
        if checkpoint_signature_holds(checkpoint, keys):
            return checkpoint
        logger.error("checkpoint row %s (size %d) is not signed by a certified checkpoint key: ignored",
                     checkpoint.pk, checkpoint.size)
    return None


def _base(last) -> memory.Remembered:
    """The tree at the last checkpoint, as this integrator remembers it; raises
    ``Refusal`` when the database's newest checkpoint is not that one (nor its signed
    successor, when the process stopped before remembering it)."""
    remembered = memory.load()
    if remembered is None:
        if last is None:
            return memory.Remembered(0, EMPTY_ROOT.hex(), "", [])
        # A new integrator machine (or one upgraded to remembering): trust on first use of
        # the newest signed checkpoint, once it is shown to match its own frontier.
        _check_whole(last)
        logger.warning("the integrator remembers no checkpoint: starting from the database's newest (size %d); "
                       "from now on it refuses any other history", last.size)
        base = memory.Remembered.of(last, frontier_from_json(last.frontier))
        memory.save(base)
        return base
    if last is None:
        raise Refusal("checkpoints_missing", f"the database holds no checkpoint, but this integrator signed one "
                                             f"of {remembered.size} entries: the checkpoints were deleted")
    if remembered.is_checkpoint(last):
        if remembered.size and not LedgerLeaf.objects.filter(index=remembered.size - 1).exists():
            raise Refusal("leaves_missing", f"the leaves of the last checkpoint ({remembered.size} entries) are "
                                            "missing: entries' places were deleted")
        return remembered
    document = json.loads(bytes(last.canonical))
    successor = (
        document.get("prev_size") == remembered.size and document.get("prev_root") == remembered.root
        and verify_consistency(remembered.size, last.size, bytes.fromhex(remembered.root),
                               bytes.fromhex(last.root_hash), [base64.b64decode(h) for h in last.consistency])
    )
    if successor:
        _check_whole(last)
        base = memory.Remembered.of(last, frontier_from_json(last.frontier))
        memory.save(base)
        return base
    raise Refusal(
        "checkpoint_history_rewritten",
        f"the database's newest checkpoint (size {last.size}, root {last.root_hash[:16]}…) is not the one this "
        f"integrator signed last (size {remembered.size}, root {remembered.root[:16]}…) nor its successor: "
        "checkpoints were deleted, rebuilt or rolled back",
    )


def _check_whole(checkpoint):
    """A signed checkpoint (``_newest_signed_checkpoint``) taken as the base must match
    the frontier stored with it: the next checkpoint is built on that frontier."""
    frontier = frontier_from_json(checkpoint.frontier)
    if frontier_size(frontier) != checkpoint.size or frontier_root(frontier).hex() != checkpoint.root_hash:
        raise Refusal("checkpoint_frontier", f"the newest checkpoint (size {checkpoint.size}) does not match its "
                                             "stored frontier")


def _alert(refusal: Refusal, last) -> None:
    logger.error("integrator refuses to sign: %s", refusal.message)
    integrity_alert.send(sender=Checkpoint, code=refusal.code, message=refusal.message,
                         size=last.size if last else 0)


def _sign_checkpoint(size, frontier, now, base, proof, definitions) -> Checkpoint:
    window, private_key = signer_for("checkpoint", now)
    root = frontier_root(frontier).hex()
    document = {"v": CHECKPOINT_VERSION, "size": size, "root": root, "at": format_time(now), "key": window.key_id,
                "prev_size": base.size, "prev_root": base.root, "definitions": definitions}
    canonical = canonical_bytes(document)
    checkpoint = Checkpoint(
        size=size, root_hash=root, created_at=now, key_id=window.key_id, canonical=canonical,
        signature=private_key.sign(canonical), frontier=frontier_to_json(frontier),
        consistency=[base64.b64encode(h).decode() for h in proof],
    )
    checkpoint.save()
    return checkpoint
