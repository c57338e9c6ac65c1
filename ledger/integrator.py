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

import logging
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from ledger.canonical import canonical_bytes, format_time
from ledger.keys import signer_for
from ledger.models import AuditEntry, Checkpoint, IntegratorState, LedgerLeaf
from ledger.tamkeen_verify import (
    FORMAT_VERSION,
    frontier_append,
    frontier_from_json,
    frontier_root,
    frontier_size,
    frontier_to_json,
    leaf_hash,
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


def _is_postgres():
    return connection.vendor == "postgresql"


def _snapshot_horizon(cursor) -> int:
    cursor.execute("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint")
    return cursor.fetchone()[0]


def integrate(*, force_checkpoint=False, every_entries=None, every_seconds=None) -> IntegrationResult:
    """Integrate every settled entry; sign a checkpoint every N entries or T seconds."""
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

        last = Checkpoint.objects.order_by("-size", "-created_at").first()
        frontier = frontier_from_json(last.frontier) if last else []
        checkpointed = last.size if last else 0
        start = checkpointed
        if last is not None and (frontier_size(frontier) != last.size
                                 or frontier_root(frontier).hex() != last.root_hash):
            # Anyone with INSERT rights can add a checkpoint row: never build on a
            # frontier that does not even match its own root; rebuild from the leaves.
            logger.error("checkpoint %s (size %d): its frontier does not match its root; rebuilding the "
                         "tree from the leaves", last.pk, last.size)
            frontier, start = [], 0
        # Leaves already placed after the last checkpoint.
        for entry_hash in (
            LedgerLeaf.objects.filter(index__gte=start).order_by("index")
            .values_list("entry__entry_hash", flat=True).iterator()
        ):
            frontier_append(frontier, leaf_hash(entry_hash))
        next_index = sum(size for size, _digest in frontier)

        candidates = AuditEntry.objects.filter(leaf__isnull=True)
        if horizon is not None:
            candidates = candidates.filter(xact_id__gte=state.horizon, xact_id__lt=horizon)
        rows = list(candidates.order_by("id").values_list("id", "entry_hash")[:BATCH])
        leaves = []
        for entry_id, entry_hash in rows:
            leaves.append(LedgerLeaf(index=next_index, entry_id=entry_id))
            frontier_append(frontier, leaf_hash(entry_hash))
            next_index += 1
        LedgerLeaf.objects.bulk_create(leaves, batch_size=5000)
        if horizon is not None and len(rows) < BATCH:
            state.horizon = horizon
            state.save(update_fields=["horizon", "updated_at"])

        pending = next_index - checkpointed
        now = timezone.now()
        due = pending >= every_entries or (
            pending > 0 and (last is None or (now - last.created_at).total_seconds() >= every_seconds)
        )
        checkpoint = None
        if pending > 0 and (due or force_checkpoint):
            checkpoint = _sign_checkpoint(next_index, frontier, now)
        if rows or checkpoint:
            logger.info("integrated %d entries; tree size %d%s", len(rows), next_index,
                        f"; checkpoint {checkpoint.root_hash[:12]}" if checkpoint else "")
        return IntegrationResult(len(rows), next_index, checkpoint)


def _sign_checkpoint(size, frontier, now) -> Checkpoint:
    window, private_key = signer_for("checkpoint", now)
    root = frontier_root(frontier).hex()
    document = {"v": FORMAT_VERSION, "size": size, "root": root, "at": format_time(now), "key": window.key_id}
    canonical = canonical_bytes(document)
    checkpoint = Checkpoint(
        size=size, root_hash=root, created_at=now, key_id=window.key_id, canonical=canonical,
        signature=private_key.sign(canonical), frontier=frontier_to_json(frontier),
    )
    checkpoint.save()
    return checkpoint
