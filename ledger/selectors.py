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
    unsigned_checkpoints = []
    _checkpoint_signatures(entries, by_entry, unsigned_checkpoints, None)
    problems += unsigned_checkpoints
    chain_problems += unsigned_checkpoints
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


# --- A long chain's page: the stored verification and the entries shown ----------------


@dataclass
class ChainStatus:
    """What a page says of an entity's chain without re-verifying all of it: the stored
    result of the latest whole-chain verification (``StoredVerification``: "Verify now"
    or the scheduled verification), and the check of the entries the page shows (hash,
    link to the previous entry, columns, key and signature; on the newest page also the
    live row's state and chain head). The state-machine replay and the Merkle anchor
    are the whole-chain verification's, not re-done here."""

    stored: object  # ledger.models.StoredVerification or None (never verified whole)
    length: int  # the chain's length now (the row's ``audit_seq``)
    checked: int  # entries checked on this page
    by_entry: dict[int, list[Problem]] = field(default_factory=dict)
    # Found on this page about no single entry shown (the live row's head).
    page_problems: list[Problem] = field(default_factory=list)
    anchored: int = 0  # entries inside a signed checkpoint
    pending: int = 0  # entries not yet in a checkpoint
    last_checkpoint_id: int | None = None
    last_checkpoint_at: datetime | None = None

    @property
    def problems(self) -> list[Problem]:
        """Everything found wrong on this page: the entries shown, then the rest."""
        found = [problem for problems in self.by_entry.values() for problem in problems]
        return found + [problem for problem in self.page_problems if problem not in found]

    @property
    def page_ok(self) -> bool:
        return not self.by_entry and not self.page_problems

    @property
    def stored_ok(self) -> bool:
        return self.stored is not None and self.stored.ok

    @property
    def ok(self) -> bool:
        """Nothing wrong found, neither on this page nor by the stored verification."""
        return self.page_ok and (self.stored is None or self.stored.ok)

    @property
    def verified_up_to(self) -> int:
        return self.stored.last_seq if self.stored is not None else 0

    @property
    def unverified(self) -> int:
        """Entries written after the stored verification (all of them without one)."""
        return max(self.length - self.verified_up_to, 0)

    @property
    def stored_problems(self) -> list[dict]:
        return list(self.stored.problems) if self.stored is not None else []

    def messages_for(self, entry_id) -> list[str]:
        """What is wrong with one entry shown: found on this page, or by the stored
        verification (as it said it then)."""
        found = [problem.message for problem in self.by_entry.get(entry_id, [])]
        for problem in self.stored_problems:
            if problem.get("entry_id") == entry_id and problem.get("message") not in found:
                found.append(problem.get("message", problem.get("code", "")))
        return found

    def is_verified(self, seq: int) -> bool:
        """Whether the stored whole-chain verification covered entry ``seq``."""
        return seq <= self.verified_up_to


def stored_verification(entity):
    """The latest whole-chain verification stored for ``entity`` (None: never). One query."""
    from ledger.models import StoredVerification, entity_type_of

    return (StoredVerification.objects.filter(entity_type=entity_type_of(entity), entity_id=str(entity.pk))
            .select_related("verified_by").first())


def _records(rows) -> list:
    from ledger.canonical import canonical_bytes
    from ledger.tamkeen_verify import EntryRecord

    return [
        EntryRecord(canonical=bytes(row.canonical), hash=row.entry_hash, key_id=row.key_id,
                    signature=bytes(row.signature), index=None,
                    columns=canonical_bytes(row.column_values()), entry_id=row.pk)
        for row in rows
    ]


def chain_status(entity, rows, *, previous=None, newest: bool) -> ChainStatus:
    """The chain's status for a page showing ``rows`` (the entity's entries, in chain
    order, as ``anchored_entries`` annotates them). ``previous``: the entry just before
    the first one shown (None on the chain's first page), read to check the first link.
    ``newest``: the page ends with the chain's newest entry, so the live row is compared
    with it. A constant number of queries whatever the chain's length."""
    from ledger.evidence import public_and_trusted_keys
    from ledger.keys import root_public_key
    from ledger.models import entity_type_of
    from ledger.tamkeen_verify import verify_ledger

    rows = list(rows)
    keys, trusted = public_and_trusted_keys()
    shown = {row.pk for row in rows}
    records = _records(([previous] if previous is not None else []) + rows)
    # No state machine and no live rows: the hash, the link, the columns, the key and the
    # signature of each entry shown (the replay is the whole-chain verification's).
    report = verify_ledger(records, [], keys, {}, None, check_signatures=True,
                           root_public_key=root_public_key(), trust="configuration")
    skipped = previous.pk if previous is not None else None
    by_entry: dict[int, list[Problem]] = {}
    page_problems: list[Problem] = []
    for problem in report.problems:
        if problem.code == "state_machine" or (skipped is not None and problem.entry_id == skipped):
            continue  # no replay here; the entry before the page is checked on its own page
        if problem.entry_id in shown:
            by_entry.setdefault(problem.entry_id, []).append(problem)
        else:
            page_problems.append(problem)
    if newest:
        page_problems.extend(_live_head_problems(entity, rows, entity_type_of(entity)))
    _checkpoint_signatures(rows, by_entry, page_problems, trusted)
    status = ChainStatus(stored=stored_verification(entity), length=getattr(entity, "audit_seq", 0) or 0,
                         checked=len(rows), by_entry=by_entry, page_problems=page_problems)
    _anchoring(entity, status)
    return status


def _live_head_problems(entity, rows, entity_type) -> list[Problem]:
    """The live row, as the page read it, against the newest entry shown: its state and
    chain head (a tail cut off, a state changed without an entry). The folded fields are
    the whole-chain verification's (they need the whole chain)."""
    from ledger.machines import awaits_first_entry, state_field_name
    from ledger.tamkeen_verify import live_problem

    if not rows and awaits_first_entry(entity):  # a chain that may start later and has not
        return []
    live = {"state": getattr(entity, state_field_name(type(entity))), "seq": entity.audit_seq,
            "head": entity.audit_head}
    last = rows[-1] if rows else None
    chain = (last.to_state, last.seq, last.entry_hash, None) if last is not None else None
    problem = live_problem(entity_type, str(entity.pk), live, chain, ())
    return [problem] if problem is not None else []


def _checkpoint_signatures(rows, by_entry, page_problems, trusted) -> None:
    """The signature of each checkpoint anchoring an entry shown (one query), with the
    ``trusted`` keys (the pinned root's; read here when None)."""
    checkpoint_ids = {row.checkpoint_id for row in rows if getattr(row, "checkpoint_id", None)}
    if not checkpoint_ids:
        return
    keys = {key.key_id: key for key in (trusted if trusted is not None else trusted_public_keys())}
    for checkpoint in Checkpoint.objects.filter(pk__in=checkpoint_ids).order_by("size"):
        if checkpoint_signature_holds(checkpoint, keys):
            continue
        problem = Problem(
            "checkpoint_bad_signature",
            _("the signature of checkpoint #%(id)s does not verify") % {"id": checkpoint.pk},
            checkpoint_size=checkpoint.size, detail={"checkpoint_id": checkpoint.pk},
        )
        page_problems.append(problem)
        for row in rows:
            if row.checkpoint_id == checkpoint.pk:
                by_entry.setdefault(row.pk, []).append(problem)


def _anchoring(entity, status: ChainStatus) -> None:
    """How many of the chain's entries a signed checkpoint holds, and the newest
    checkpoint that anchors one of them (one query, two once a checkpoint anchors an
    entry, whatever the chain's length)."""
    from django.db.models import Count, Max, Q

    newest = Subquery(Checkpoint.objects.order_by("-size", "-created_at").values("size")[:1])
    counts = AuditEntry.objects.for_entity(entity).aggregate(
        total=Count("pk"), anchored=Count("pk", filter=Q(leaf__index__lt=newest)),
        top=Max("leaf__index", filter=Q(leaf__index__lt=newest)),
    )
    status.anchored, status.pending = counts["anchored"], counts["total"] - counts["anchored"]
    if counts["top"] is not None:
        first = (Checkpoint.objects.filter(size__gt=counts["top"]).order_by("size", "created_at")
                 .values_list("pk", "created_at").first())
        if first is not None:
            status.last_checkpoint_id, status.last_checkpoint_at = first
