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

