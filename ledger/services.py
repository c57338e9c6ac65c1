"""Writes of the ledger app besides the entries themselves: the stored result of a chain's
verification (``StoredVerification``, operational state, not evidence).

The entries are written by ``ledger.entries.record_transition`` inside the audited
services' transactions; nothing here touches them.
"""

import time
from dataclasses import dataclass

from django.db import transaction
from django.db.models import CharField, F, OuterRef, Q, Subquery
from django.db.models.functions import Cast
from django.utils import timezone

from core.transactions import consistent_read
from ledger.evidence import verify_entity_anchored
from ledger.models import AuditEntry, StoredVerification, entity_type_of
from ledger.signals import chain_broken

# How many chains one scheduled run verifies at most, and for how long it goes on taking
# more (``chains_verify_changed``): a run stays bounded, the next one takes the following
# chains.
SCHEDULED_BATCH = 50
# The chains one query of a run hands over (the least recently verified first).
SCHEDULED_CHUNK = 1000


@dataclass
class ChainVerified:
    """What ``chain_verify`` found and stored."""

    stored: StoredVerification
    report: object  # tamkeen_verify.Report, with ``uncheckpointed``
    checkpoint: object  # the newest signed checkpoint (ledger.models.Checkpoint) or None


def chain_verify(entity, *, actor=None, source=StoredVerification.Source.VERIFY_NOW) -> ChainVerified:
    """Verify ``entity``'s whole chain anchored in the newest signed checkpoint
    (``ledger.evidence.verify_entity_anchored``) and store the result as the chain's
    latest verification, replacing the previous one. ``actor``: the auditor who asked
    (None for the scheduled verification). Any caller that may read the ledger; the
    permission is checked by the door (the auditors' "Verify now", the beat task).
    Raises nothing of its own: a chain that does not verify is a stored result too."""
    entity_type, entity_id = entity_type_of(entity), str(entity.pk)
    with consistent_read():
        # The chain's head in the same snapshot as the verification: the entries written
        # after it are the "not yet verified" ones.
        head = (AuditEntry.objects.for_entity(entity).order_by("-seq").values_list("seq", "entry_hash").first()
                or (0, ""))
        # The signatures the previous verification checked, sealed: not checked again
        # while the seal matches them (``evidence.verify_entity_anchored``).
        sealed = (StoredVerification.objects.filter(entity_type=entity_type, entity_id=entity_id)
                  .values_list("signatures_sealed", "signatures_seal").first() or (0, ""))
        report, checkpoint = verify_entity_anchored(entity, sealed=sealed)
    values = {
        "verified_at": timezone.now(),
        "verified_by": actor,
        "source": source,
        "entries": report.entries,
        "last_seq": head[0],
        "last_hash": head[1],
        "ok": report.ok,
        "problems": [_json_ready(problem.as_dict()) for problem in report.problems],
        "checkpoint_size": checkpoint.size if checkpoint is not None else None,
        "uncheckpointed": getattr(report, "uncheckpointed", 0) or 0,
        "signatures_sealed": getattr(report, "signature_seal", (0, ""))[0],
        "signatures_seal": getattr(report, "signature_seal", (0, ""))[1],
    }
    with transaction.atomic():
        before = (StoredVerification.objects.select_for_update()
                  .filter(entity_type=entity_type, entity_id=entity_id).values_list("ok", flat=True).first())
        stored, _created = StoredVerification.objects.update_or_create(
            entity_type=entity_type, entity_id=entity_id, defaults=values,
        )
        if not stored.ok and before is not False:
            # Newly found broken: the auditors are told once (not at every re-verification).
            chain_broken.send(sender=StoredVerification, entity_type=entity_type, entity_id=entity_id,
                              last_seq=stored.last_seq, problem=(stored.problems or [{}])[0])
    return ChainVerified(stored=stored, report=report, checkpoint=checkpoint)


def _json_ready(value):
    """A problem's fields as JSON holds them (details may carry decimals or dates)."""
    if isinstance(value, dict):
        return {str(key): _json_ready(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_json_ready(item) for item in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def chains_verify_changed(*, batch: int = SCHEDULED_BATCH, seconds: float | None = None,
                          clock=time.monotonic) -> list[tuple[str, str, bool]]:
    """The scheduled verification: verify up to ``batch`` chains of audited rows whose
    chain grew since their stored verification (or that have none), the least recently
    verified first, and store each result; with ``seconds``, stop taking chains once that
    long has passed (at least one chain is verified, so every run makes progress).
    Returns (entity type, id, ok) of each chain verified. For the beat task; a chain whose
    verification fails is stored as such (and so is not taken again until it grows)."""
    from ledger.machines import audited_models

    done: list[tuple[str, str, bool]] = []
    deadline = clock() + seconds if seconds is not None else None
    started = timezone.now()  # a chain verified by this run is not taken again by it

    def spent() -> bool:
        return len(done) >= batch or (deadline is not None and done and clock() >= deadline)

    for label, model, _spec in audited_models():
        if not any(field.name == "audit_seq" for field in model._meta.fields):
            continue  # a model that keeps no chain head on its row
        stored = StoredVerification.objects.filter(entity_type=label, entity_id=Cast(OuterRef("pk"), CharField()))
        pending = (
            model._default_manager.filter(audit_seq__gt=0)
            .annotate(verified_seq=Subquery(stored.values("last_seq")[:1]),
                      verified_at=Subquery(stored.values("verified_at")[:1]))
            .filter(Q(verified_seq__isnull=True) | Q(audit_seq__gt=F("verified_seq")))
            .filter(Q(verified_at__isnull=True) | Q(verified_at__lt=started))
            .order_by(F("verified_at").asc(nulls_first=True), "pk")
        )
        while not spent():
            # Each chain verified leaves ``pending`` (its stored result is newer than the
            # run, even when the chain grew meanwhile or is found cut short), so the next
            # query hands over the following ones.
            chunk = list(pending[: min(SCHEDULED_CHUNK, batch - len(done))])
            for entity in chunk:
                verified = chain_verify(entity, source=StoredVerification.Source.SCHEDULED)
                done.append((label, str(entity.pk), verified.stored.ok))
                if spent():
                    return done
            if len(chunk) < SCHEDULED_CHUNK:
                break  # this model has no more
        if spent():
            break
    return done
