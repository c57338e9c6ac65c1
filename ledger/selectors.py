"""Reads of the ledger app: what the ledger says about one entity.

Other apps show an entity's history and whether it holds; the ledger alone verifies
it. Nothing here writes.
"""

from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import OuterRef, QuerySet, Subquery
from django.utils.translation import gettext as _

from ledger.evidence import checkpoint_signature_holds, trusted_public_keys, verify_entity
from ledger.models import AuditEntry, Checkpoint
from ledger.tamkeen_verify import Problem


def anchored_entries(entity) -> QuerySet[AuditEntry]:
    """The entity's entries in chain order, each annotated with the first signed
    checkpoint whose tree holds it: ``checkpoint_id``, ``checkpoint_size`` and
    ``checkpoint_at`` (None while it is not anchored yet)."""
    covering = Checkpoint.objects.filter(size__gt=OuterRef("leaf__index")).order_by("size", "created_at")
    return (
        AuditEntry.objects.for_entity(entity)
        .annotate(
            checkpoint_id=Subquery(covering.values("pk")[:1]),
            checkpoint_size=Subquery(covering.values("size")[:1]),
            checkpoint_at=Subquery(covering.values("created_at")[:1]),
        )
        .order_by("seq")
    )


@dataclass
class EntityVerification:
    """The verification of one entity's audit chain, for the pages that show it."""

    ok: bool
    entries: int
    problems: list[Problem]  # every problem found
    # The problems about one of the entity's entries, by entry id (a checkpoint whose
    # signature does not verify is listed on every entry it anchors).
    by_entry: dict[int, list[Problem]] = field(default_factory=dict)
    # Those about no single entry: the live state, a missing tail, a checkpoint.
    chain_problems: list[Problem] = field(default_factory=list)
    anchored: int = 0  # entries inside a signed checkpoint
    pending: int = 0  # entries not yet in a checkpoint
    last_checkpoint_id: int | None = None
    last_checkpoint_at: datetime | None = None

    def messages_for(self, entry_id) -> list[str]:
        """What is wrong with one entry, as messages for people."""
        return [problem.message for problem in self.by_entry.get(entry_id, [])]


def entity_verification(entity) -> EntityVerification:
    """Verify ``entity``'s chain (every hash, link, signature and the replay through the
    state machine up to the live state) and the signatures of the checkpoints anchoring
    its entries. A constant number of queries. (The auditors' "verify now" also proves
    the newest entry's inclusion in the latest checkpoint from the stored tree:
    ``evidence.verify_entity_anchored``.)"""
    entries = list(anchored_entries(entity))
    report = verify_entity(entity, rows=entries)
    problems = list(report.problems)
    by_entry: dict[int, list[Problem]] = {}
    chain_problems = []
    ids = {entry.pk for entry in entries}
    for problem in problems:
        if problem.entry_id in ids:
            by_entry.setdefault(problem.entry_id, []).append(problem)
        else:
            chain_problems.append(problem)
    checkpoint_ids = {entry.checkpoint_id for entry in entries if entry.checkpoint_id}
    if checkpoint_ids:
        keys = {key.key_id: key for key in trusted_public_keys()}
        for checkpoint in Checkpoint.objects.filter(pk__in=checkpoint_ids).order_by("size"):
            if checkpoint_signature_holds(checkpoint, keys):
                continue
            problem = Problem(
                "checkpoint_bad_signature",
                _("the signature of checkpoint #%(id)s does not verify") % {"id": checkpoint.pk},
                checkpoint_size=checkpoint.size, detail={"checkpoint_id": checkpoint.pk},
            )
            problems.append(problem)
            chain_problems.append(problem)
            for entry in entries:
                if entry.checkpoint_id == checkpoint.pk:
                    by_entry.setdefault(entry.pk, []).append(problem)
    anchored = [entry for entry in entries if entry.checkpoint_id]
    last = max(anchored, key=lambda entry: entry.checkpoint_size, default=None)
    return EntityVerification(
        ok=not problems,
        entries=report.entries,
        problems=problems,
        by_entry=by_entry,
        chain_problems=chain_problems,
        anchored=len(anchored),
        pending=len(entries) - len(anchored),
        last_checkpoint_id=last.checkpoint_id if last else None,
        last_checkpoint_at=last.checkpoint_at if last else None,
    )
