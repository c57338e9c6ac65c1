"""Celery tasks of the audit ledger."""

from celery import shared_task


@shared_task(name="ledger.tasks.integrate_ledger")
def integrate_ledger():
    """Place every settled audit entry in the Merkle tree (in committed batches, however
    many there are), storing its tiles, and sign a checkpoint every N entries or when
    one is due. Only one integrator runs at a time; a concurrent run returns at once."""
    from ledger.integrator import integrate
    from ledger.witnesses import configured, cosign_pending

    result = integrate()
    # The witnesses are asked after the checkpoint committed; a witness out of reach is
    # asked again at the next tick.
    outcomes = cosign_pending() if configured() else []
    return {"integrated": result.integrated, "tree_size": result.tree_size,
            "checkpoint": result.checkpoint.pk if result.checkpoint else None, "checkpoints": result.checkpoints,
            "backfilled": result.backfilled, "refused": result.refused,
            "witnesses": [outcome.__dict__ for outcome in outcomes]}



@shared_task(name="ledger.tasks.verify_changed_chains")
def verify_changed_chains(batch: int | None = None, seconds: float | None = None):
    """Verify, in a bounded batch (at most ``batch`` chains, taken for at most ``seconds``),
    the chains that grew since their stored verification (or were never verified whole)
    and store each result: the pages show it and verify on view only the entries they
    show."""
    from ledger.services import SCHEDULED_BATCH, chains_verify_changed

    done = chains_verify_changed(batch=batch or SCHEDULED_BATCH, seconds=seconds)
    return {"verified": len(done),
            "not_intact": [f"{entity_type}#{entity_id}" for entity_type, entity_id, ok in done if not ok]}
