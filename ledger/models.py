"""The audit ledger's rows. Append-only: the model refuses updates and deletes."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class AppendOnlyError(Exception):
    pass


class AuditEntryQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError("audit entries cannot be updated")

    def delete(self):
        raise AppendOnlyError("audit entries cannot be deleted")

    def for_entity(self, entity):
        return self.filter(entity_type=entity_type_of(entity), entity_id=str(entity.pk))


def entity_type_of(entity) -> str:
    """The name an entity's chain carries in the ledger: signed into every entry, so it
    never changes. A model that moved to another app keeps its old name
    (``ledger_entity_type``); any other model is named by its label."""
    model = entity if isinstance(entity, type) else type(entity)
    return getattr(model, "ledger_entity_type", None) or model._meta.label_lower


class AuditedModel(models.Model):
    """A model whose transitions are audited. It keeps the head of its own audit chain
    (last sequence number and entry hash) on its row: the row is locked for every
    transition anyway, so the next entry needs no extra query to find its predecessor.
    The ledger stays the evidence; the verifiers compare these two columns with the
    chain's last entry (``ledger.machines.live_states``), so a chain whose tail was cut
    off is found even when the row's state was set back."""

    audit_seq = models.PositiveIntegerField(default=0, editable=False)
    audit_head = models.CharField(max_length=64, blank=True, editable=False)

    class Meta:
        abstract = True


class AuditEntry(models.Model):
    entity_type = models.CharField(_("entity type"), max_length=60)
    entity_id = models.CharField(_("entity id"), max_length=40)
    seq = models.PositiveIntegerField(_("sequence in the entity's chain"))
    transition = models.CharField(_("transition"), max_length=60)
    from_state = models.CharField(_("from state"), max_length=30, blank=True)
    to_state = models.CharField(_("to state"), max_length=30)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+",
        verbose_name=_("actor"),
    )
    actor_role = models.CharField(_("role"), max_length=40)
    request_id = models.CharField(_("request id"), max_length=64, blank=True)
    payload = models.JSONField(_("payload"), default=dict)
    created_at = models.DateTimeField(_("time"))
    # The signed form. ``canonical`` holds the exact bytes that were hashed; every
    # column above must equal its value in them (the verifier checks).
    canonical = models.BinaryField(_("canonical bytes"))
    prev_hash = models.CharField(_("previous entry hash"), max_length=64)
    entry_hash = models.CharField(_("entry hash"), max_length=64, unique=True)
    key_id = models.CharField(_("signing key"), max_length=32)
    signature = models.BinaryField(_("signature"))
    # The inserting transaction (PostgreSQL, set by a trigger): the integrator only
    # takes rows whose transaction is older than every running snapshot.
    xact_id = models.BigIntegerField(null=True, editable=False, db_index=True)

    objects = AuditEntryQuerySet.as_manager()

    class Meta:
        db_table = "workflow_auditentry"  # the table it had before the app split
        ordering = ["entity_type", "entity_id", "seq"]
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")
        constraints = [
            models.UniqueConstraint(
                fields=["entity_type", "entity_id", "seq"], name="audit_entry_contiguous_chain"
            ),
        ]
        indexes = [models.Index(fields=["actor", "created_at"])]
        permissions = [("verify_ledger", "Can verify the audit ledger")]

    def __str__(self):
        return f"{self.entity_type}#{self.entity_id}/{self.seq} {self.transition}"

    def save(self, *args, **kwargs):
        """Insert the new entry; an entry is never updated. (A transition's entry is
        written with the entity's row by ``ledger.writes``, without this method.)"""
        if not self._state.adding:
            raise AppendOnlyError("audit entries cannot be updated")
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("audit entries cannot be deleted")

    def column_values(self) -> dict:
        """The queryable columns under their names in the signed document."""
        from ledger.canonical import format_time

        return {
            "entity_type": self.entity_type, "entity_id": self.entity_id, "seq": self.seq,
            "transition": self.transition, "from": self.from_state, "to": self.to_state,
            "actor": self.actor_id, "role": self.actor_role, "request_id": self.request_id,
            "payload": self.payload, "prev": self.prev_hash, "at": format_time(self.created_at),
        }


class AppendOnlyModel(models.Model):
    """Rows that are written once and never changed or removed."""

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyError(f"{self._meta.verbose_name} rows cannot be updated")
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError(f"{self._meta.verbose_name} rows cannot be deleted")


class LedgerLeaf(AppendOnlyModel):
    """An entry's place in the global Merkle tree, given by the integrator."""

    index = models.BigIntegerField(primary_key=True)
    entry = models.OneToOneField(AuditEntry, on_delete=models.PROTECT, related_name="leaf")

    objects = AuditEntryQuerySet.as_manager()

    class Meta:
        db_table = "workflow_ledgerleaf"  # the table it had before the app split
        ordering = ["index"]
        verbose_name = _("ledger leaf")

    def __str__(self):
        return f"leaf {self.index} → entry {self.entry_id}"


class LedgerTile(AppendOnlyModel):
    """Up to 256 consecutive hashes of the Merkle tree's nodes at height 8·``level``,
    those numbered ``index``·256 onwards (``ledger.tree``): the stored tree proofs are
    built from. A complete tile has ``width`` 256; the tree's right edge is stored as
    partial rows of growing width, each written once. Derived data, never trusted: a
    proof built from tiles is checked against a signed checkpoint's root."""

    level = models.PositiveSmallIntegerField(_("level"))
    index = models.BigIntegerField(_("tile index"))
    width = models.PositiveSmallIntegerField(_("hashes held"))
    hashes = models.BinaryField(_("hashes"))

    objects = AuditEntryQuerySet.as_manager()

    class Meta:
        ordering = ["level", "index", "width"]
        verbose_name = _("tree tile")
        verbose_name_plural = _("tree tiles")
        constraints = [
            models.UniqueConstraint(fields=["level", "index", "width"], name="one_tile_row_per_width"),
            models.CheckConstraint(condition=models.Q(width__gte=1, width__lte=256), name="tile_width_1_to_256"),
        ]

    def __str__(self):
        return f"tile {self.level}/{self.index} ({self.width} hashes)"


class Checkpoint(AppendOnlyModel):
    """A signed statement of the Merkle tree's size and root at a moment."""

    size = models.BigIntegerField(_("tree size"))
    root_hash = models.CharField(_("root"), max_length=64)
    created_at = models.DateTimeField(_("time"))
    key_id = models.CharField(_("signing key"), max_length=32)
    canonical = models.BinaryField(_("canonical bytes"))
    signature = models.BinaryField(_("signature"))
    # Perfect subtrees of the tree at this size, so the next checkpoint is incremental.
    frontier = models.JSONField(default=list)
    # The RFC 9162 consistency proof from the previous checkpoint (base64 hashes): what a
    # witness checks before it cosigns, and what the bundle carries for the auditor.
    consistency = models.JSONField(default=list)

    objects = AuditEntryQuerySet.as_manager()

    class Meta:
        db_table = "workflow_checkpoint"  # the table it had before the app split
        ordering = ["size", "created_at"]
        # The newest first, without sorting them all (proofs, "verify now", the integrator).
        indexes = [models.Index(fields=["size", "created_at"], name="checkpoint_size_time")]
        verbose_name = _("checkpoint")
        verbose_name_plural = _("checkpoints")

    def __str__(self):
        return f"checkpoint {self.size} {self.root_hash[:12]}"


class WitnessCosignature(AppendOnlyModel):
    """A witness's signature over a checkpoint: it saw this checkpoint, and it was
    consistent with every checkpoint it had cosigned before."""

    checkpoint = models.ForeignKey(Checkpoint, on_delete=models.PROTECT, related_name="cosignatures")
    witness_key_id = models.CharField(_("witness key"), max_length=32)
    time = models.CharField(_("time (UTC)"), max_length=32)
    signature = models.BinaryField(_("signature"))
    received_at = models.DateTimeField(_("received at"), auto_now_add=True)

    objects = AuditEntryQuerySet.as_manager()

    class Meta:
        ordering = ["checkpoint", "witness_key_id"]
        verbose_name = _("witness cosignature")
        verbose_name_plural = _("witness cosignatures")
        constraints = [models.UniqueConstraint(fields=["checkpoint", "witness_key_id"],
                                               name="one_cosignature_per_witness")]

    def __str__(self):
        return f"cosignature of {self.checkpoint_id} by {self.witness_key_id}"


class SigningKey(AppendOnlyModel):
    """A public key and the moment it became active. A key's window ends when the next
    key of the same purpose becomes active (or at ``valid_until``); public keys are kept
    forever so old entries stay verifiable."""

    class Purpose(models.TextChoices):
        ENTRY = "entry", _("entry signing")
        CHECKPOINT = "checkpoint", _("checkpoint signing")

    key_id = models.CharField(_("key id"), max_length=32, unique=True)
    purpose = models.CharField(_("purpose"), max_length=12, choices=Purpose.choices)
    public_key = models.CharField(_("Ed25519 public key (hex)"), max_length=64, unique=True)
    valid_from = models.DateTimeField(_("valid from"))
    valid_until = models.DateTimeField(_("valid until"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = AuditEntryQuerySet.as_manager()

    class Meta:
        db_table = "workflow_signingkey"  # the table it had before the app split
        ordering = ["purpose", "valid_from"]
        verbose_name = _("signing key")
        verbose_name_plural = _("signing keys")

    def __str__(self):
        return f"{self.purpose} key {self.key_id}"


class KeyCertificate(AppendOnlyModel):
    """The ledger root's signature over a key's statement (id, purpose, public key, start):
    verifiers accept the key only with it, checked against the pinned root. Kept apart
    from the key row so a key registered before certificates existed can be certified
    later without rewriting its row."""

    key_id = models.CharField(_("key id"), max_length=32, unique=True)
    certificate = models.JSONField(_("certificate"))
    created_at = models.DateTimeField(auto_now_add=True)

    objects = AuditEntryQuerySet.as_manager()

    class Meta:
        ordering = ["key_id"]
        verbose_name = _("key certificate")
        verbose_name_plural = _("key certificates")

    def __str__(self):
        return f"certificate of {self.key_id}"


class IntegratorState(models.Model):
    """Where the integrator stopped (operational state, not evidence).

    ``horizon`` is the oldest transaction id that might still insert entries the
    integrator has not taken; entries of older transactions are all integrated.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    horizon = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "workflow_integratorstate"  # the table it had before the app split

    def __str__(self):
        return f"integrator horizon {self.horizon}"


class StoredVerification(models.Model):
    """The latest whole-chain verification of one entity: when, by whom or what, how many
    entries it covered, and what it found.

    Operational state, not evidence: an ordinary table (updated in place, not append-only,
    not signed). It spares the pages a re-verification of a long chain on every view; the
    evidence stays the chain itself, which "Verify now", ``audit verify`` and the offline
    verifier check again whenever asked. A row that lies can only make a page say
    "verified" of entries that an auditor's next verification would still find bad.
    """

    class Source(models.TextChoices):
        VERIFY_NOW = "verify_now", _("Verify now")
        SCHEDULED = "scheduled", _("scheduled verification")

    entity_type = models.CharField(_("entity type"), max_length=60)
    entity_id = models.CharField(_("entity id"), max_length=40)
    verified_at = models.DateTimeField(_("verified at"))
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        verbose_name=_("verified by"),
    )
    source = models.CharField(_("source"), max_length=20, choices=Source.choices)
    # The chain as it stood when verified: its length and last entry.
    entries = models.PositiveIntegerField(_("entries covered"))
    last_seq = models.PositiveIntegerField(_("last sequence number covered"))
    last_hash = models.CharField(_("last entry hash covered"), max_length=64, blank=True)
    ok = models.BooleanField(_("intact"))
    # Each problem as ``tamkeen_verify.Problem.as_dict()`` gives it (code, message, entry…).
    problems = models.JSONField(_("problems"), default=list, blank=True)
    # The signed checkpoint the chain was anchored in (None: none yet), and how many of
    # the entries it did not cover yet.
    checkpoint_size = models.BigIntegerField(_("checkpoint size"), null=True, blank=True)
    uncheckpointed = models.PositiveIntegerField(_("entries not yet in a checkpoint"), default=0)
    # The signatures this verification checked and found good, sealed with the server's
    # secret (``ledger.evidence.signature_seal``): the first ``signatures_sealed`` entries'
    # key, signature and hash. The next verification skips the Ed25519 check of exactly
    # those entries while the seal still matches them; a row edited in the database can
    # only break the seal (the secret is not in the database), which means a full check.
    signatures_sealed = models.PositiveIntegerField(_("signatures sealed"), default=0)
    signatures_seal = models.CharField(_("seal of the signatures checked"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("stored verification")
        verbose_name_plural = _("stored verifications")
        constraints = [
            models.UniqueConstraint(fields=["entity_type", "entity_id"], name="one_stored_verification_per_chain"),
        ]

    def __str__(self):
        return f"{self.entity_type}#{self.entity_id} verified up to {self.last_seq} at {self.verified_at}"
