"""The integrator: gives audit entries their place in the global Merkle tree and signs
checkpoints.

One integrator runs at a time (a PostgreSQL advisory lock; on SQLite the IMMEDIATE
write transaction serialises it). Entry ids are allocated when rows are inserted but
become visible when their transaction commits, so ids commit out of order: taking "all
ids up to max(id)" would skip an entry whose transaction commits just after the read.
Instead each entry records its inserting transaction id (``xact_id``, set by a
trigger), and a run takes only entries whose transaction is older than every running
snapshot (``pg_snapshot_xmin``): those can no longer change, and every entry of an
older transaction is already visible. The next run starts from that horizon.
"""

import base64
import json
import logging
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from ledger import memory
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
BATCH = 50_000


@dataclass
class IntegrationResult:
    integrated: int
    tree_size: int
    checkpoint: Checkpoint | None
    skipped_locked: bool = False
    refused: str = ""  # why no checkpoint may be signed on this history (auditors alerted)


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


def integrate(*, force_checkpoint=False, every_entries=None, every_seconds=None) -> IntegrationResult:
    """Integrate every settled entry; sign a checkpoint every N entries or T seconds —
    unless the database's checkpoints or leaves disagree with the last checkpoint this
    integrator signed (``ledger.memory``): then it signs nothing and alerts the auditors."""
    every_entries = every_entries or settings.TAMKEEN_CHECKPOINT_EVERY_ENTRIES
    every_seconds = every_seconds if every_seconds is not None else settings.TAMKEEN_CHECKPOINT_EVERY_SECONDS
    with transaction.atomic():
        with connection.cursor() as cursor:
            if _is_postgres():
                cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [ADVISORY_LOCK_KEY])
                if not cursor.fetchone()[0]:
                    return IntegrationResult(0, 0, None, skipped_locked=True)
            state, _created = IntegratorState.objects.select_for_update().get_or_create(id=1)
            horizon = _snapshot_horizon(cursor) if _is_postgres() else None

        last = _newest_signed_checkpoint()
        try:
            base = _base(last)
            # Leaves already placed after the last checkpoint, which must follow it without a gap.
            pending = []
            for index, entry_hash in (
                LedgerLeaf.objects.filter(index__gte=base.size).order_by("index")
                .values_list("index", "entry__entry_hash").iterator()
            ):
                if index != base.size + len(pending):
                    raise Refusal("leaf_gap", f"the leaves after the last checkpoint have a gap at index "
                                              f"{base.size + len(pending)}: an entry's place was deleted")
                pending.append(leaf_hash(entry_hash))
        except Refusal as refusal:
            _alert(refusal, last)
            return IntegrationResult(0, last.size if last else 0, None, refused=refusal.message)
        frontier = list(base.frontier)
        for leaf in pending:
            frontier_append(frontier, leaf)
        next_index = base.size + len(pending)

        candidates = AuditEntry.objects.filter(leaf__isnull=True)
        if horizon is not None:
            candidates = candidates.filter(xact_id__gte=state.horizon, xact_id__lt=horizon)
        rows = list(candidates.order_by("id").values_list("id", "entry_hash")[:BATCH])
        leaves = []
        for entry_id, entry_hash in rows:
            leaves.append(LedgerLeaf(index=next_index, entry_id=entry_id))
            digest = leaf_hash(entry_hash)
            pending.append(digest)
            frontier_append(frontier, digest)
            next_index += 1
        LedgerLeaf.objects.bulk_create(leaves, batch_size=5000)
        if horizon is not None and len(rows) < BATCH:
            state.horizon = horizon
            state.save(update_fields=["horizon", "updated_at"])

        now = timezone.now()
        due = len(pending) >= every_entries or (
            pending and (last is None or (now - last.created_at).total_seconds() >= every_seconds)
        )
        # A new version of the application may change the state machines (or their folds):
        # the newest checkpoint must sign the ones in force, even with nothing new.
        redefined = last is not None and json.loads(bytes(last.canonical)).get("definitions") != _definitions()
        checkpoint = None
        if (pending and (due or force_checkpoint)) or redefined:
            proof = consistency_proof_from_frontier(base.frontier, pending)
            checkpoint = _sign_checkpoint(next_index, frontier, now, base, proof)
            signed = memory.Remembered.of(checkpoint, frontier)
            transaction.on_commit(lambda: memory.save(signed))
            transaction.on_commit(lambda: checkpoint_signed.send(sender=Checkpoint, checkpoint=checkpoint))
        if rows or checkpoint:
            logger.info("integrated %d entries; tree size %d%s", len(rows), next_index,
                        f"; checkpoint {checkpoint.root_hash[:12]}" if checkpoint else "")
        return IntegrationResult(len(rows), next_index, checkpoint)


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


def _sign_checkpoint(size, frontier, now, base, proof) -> Checkpoint:
    window, private_key = signer_for("checkpoint", now)
    root = frontier_root(frontier).hex()
    document = {"v": CHECKPOINT_VERSION, "size": size, "root": root, "at": format_time(now), "key": window.key_id,
                "prev_size": base.size, "prev_root": base.root, "definitions": _definitions()}
    canonical = canonical_bytes(document)
    checkpoint = Checkpoint(
        size=size, root_hash=root, created_at=now, key_id=window.key_id, canonical=canonical,
        signature=private_key.sign(canonical), frontier=frontier_to_json(frontier),
        consistency=[base64.b64encode(h).decode() for h in proof],
    )
    checkpoint.save()
    return checkpoint
