"""The budget envelope ledger of a program (STYLE.md §5: money like a ledger).

Append-only events — a commitment when the committee approves a project, a release
when a disbursement is paid, a decommitment when a committed project stops — each with
a unique idempotency key. Every total (committed, released, free) is derived from the
events: each event, as it is inserted, adds its amount to its program's running totals
(``EnvelopeBalance``) in the same transaction, so reading a program's totals costs one row,
not a sum over its events. PostgreSQL triggers refuse UPDATE/DELETE/TRUNCATE of the events
(migration 0002); the model layer refuses them everywhere. ``manage.py check_envelopes``
recomputes every program's totals from its events and compares them with the kept ones.
"""

from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import models, transaction
from django.db.models import Count, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ledger.models import AppendOnlyError, AppendOnlyModel

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class EnvelopeTotals:
    """Derived figures of a program's envelope (or of one project's share of it)."""

    envelope: Decimal | None
    committed: Decimal
    released: Decimal

    @property
    def free(self) -> Decimal | None:
        return None if self.envelope is None else self.envelope - self.committed

    @property
    def committed_unreleased(self) -> Decimal:
        return self.committed - self.released


def _refuse_floats(events) -> None:
    """Money is Decimal: an event given a float amount is refused before it is written."""
    if any(isinstance(event.amount, float) for event in events):
        raise TypeError("envelope amounts are Decimal, never float")


class EnvelopeEventQuerySet(models.QuerySet):
    def bulk_create(self, objs, *args, **kwargs):
        """Insert ``objs`` and add them to their programs' running totals, together."""
        objs = list(objs)
        _refuse_floats(objs)
        with transaction.atomic(using=self.db, savepoint=False):
            created = super().bulk_create(objs, *args, **kwargs)
            EnvelopeBalance.add_events(objs, using=self.db)
        return created

    def update(self, **kwargs):
        raise AppendOnlyError("envelope events cannot be updated")

    def delete(self):
        raise AppendOnlyError("envelope events cannot be deleted")

    @staticmethod
    def _kind_sums() -> dict:
        kind = EnvelopeEvent.Kind
        return {"commit": Sum("amount", filter=Q(kind=kind.COMMIT)),
                "decommit": Sum("amount", filter=Q(kind=kind.DECOMMIT)),
                "release": Sum("amount", filter=Q(kind=kind.RELEASE))}

    @staticmethod
    def _committed_released(totals) -> tuple[Decimal, Decimal]:
        committed = (totals["commit"] or ZERO) - (totals["decommit"] or ZERO)
        return committed, totals["release"] or ZERO

    def sums(self) -> tuple[Decimal, Decimal]:
        """(committed, released) of the events in this queryset."""
        return self._committed_released(self.aggregate(**self._kind_sums()))

    def sums_by_program(self) -> dict[int, tuple[Decimal, Decimal, int]]:
        """{program id: (committed, released, events)} of the events in this queryset:
        one ``GROUP BY``."""
        rows = self.order_by().values("program_id").annotate(**self._kind_sums(), events=Count("pk"))
        return {row["program_id"]: (*self._committed_released(row), row["events"]) for row in rows}


class EnvelopeEvent(AppendOnlyModel):
    class Kind(models.TextChoices):
        COMMIT = "commit", _("commitment")
        RELEASE = "release", _("release of funds")
        DECOMMIT = "decommit", _("decommitment")

    program = models.ForeignKey(
        "workflow.Program", on_delete=models.PROTECT, related_name="envelope_events", verbose_name=_("program")
    )
    project = models.ForeignKey(
        "workflow.GrantProject", on_delete=models.PROTECT, related_name="envelope_events",
        verbose_name=_("project"),
    )
    disbursement = models.ForeignKey(
        "disbursements.Disbursement", on_delete=models.PROTECT, null=True, blank=True,
        related_name="envelope_events", verbose_name=_("disbursement"),
    )
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    amount = models.DecimalField(_("amount (MAD)"), max_digits=12, decimal_places=2)
    idempotency_key = models.CharField(_("idempotency key"), max_length=120, unique=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    note = models.TextField(_("note"), blank=True)
    created_at = models.DateTimeField(_("time"), default=timezone.now)

    objects = EnvelopeEventQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = _("envelope event")
        verbose_name_plural = _("envelope events")
        permissions = [("decommit_project", "Can give back a withdrawn project's commitment")]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="envelope_event_amount_positive"),
            models.CheckConstraint(
                condition=Q(kind__in=["commit", "release", "decommit"]), name="envelope_event_kind_known"
            ),
            # A release is always the release of one disbursement, and happens once.
            models.CheckConstraint(
                condition=~Q(kind="release") | Q(disbursement__isnull=False),
                name="envelope_release_names_disbursement",
            ),
            models.UniqueConstraint(
                fields=["disbursement"], condition=Q(kind="release"), name="envelope_one_release_per_disbursement"
            ),
            # A project is committed once (at its approval) and decommitted at most once.
            models.UniqueConstraint(
                fields=["project"], condition=Q(kind="commit"), name="envelope_one_commit_per_project"
            ),
            models.UniqueConstraint(
                fields=["project"], condition=Q(kind="decommit"), name="envelope_one_decommit_per_project"
            ),
        ]
        indexes = [models.Index(fields=["program", "kind"]), models.Index(fields=["project", "kind"])]

    def __str__(self):
        return f"{self.kind} {self.amount} MAD ({self.idempotency_key})"

    def save(self, *args, **kwargs):
        """Insert the event and add it to its program's running totals, together."""
        using = kwargs.get("using") or "default"
        _refuse_floats([self])
        with transaction.atomic(using=using, savepoint=False):
            super().save(*args, **kwargs)
            EnvelopeBalance.add_events([self], using=using)


class EnvelopeBalance(models.Model):
    """A program's running totals of its envelope events: what ``EnvelopeEvent`` adds as
    each event is inserted, in the event's transaction, so reading them is one row.

    Derived data: the events stay the record, and ``manage.py check_envelopes`` compares
    these totals with their sums. Every path that inserts an event holds the program's
    row lock (``disbursements.locks``), and the row is also locked here before it is
    changed, so two events of a program never add to the same stale totals. The database
    refuses totals that break the money invariants (released ≤ committed, none below zero).
    """

    program = models.OneToOneField(
        "workflow.Program", on_delete=models.PROTECT, primary_key=True, related_name="envelope_balance",
        verbose_name=_("program"),
    )
    committed = models.DecimalField(_("committed (MAD)"), max_digits=14, decimal_places=2, default=ZERO)
    released = models.DecimalField(_("released (MAD)"), max_digits=14, decimal_places=2, default=ZERO)
    events = models.PositiveIntegerField(_("events"), default=0)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)

    class Meta:
        verbose_name = _("envelope balance")
        verbose_name_plural = _("envelope balances")
        constraints = [
            models.CheckConstraint(condition=Q(released__gte=0), name="envelope_balance_released_not_negative"),
            models.CheckConstraint(condition=Q(released__lte=models.F("committed")),
                                   name="envelope_balance_released_within_committed"),
        ]

    def __str__(self):
        return f"{self.program_id}: committed {self.committed}, released {self.released}"

    @classmethod
    def add_events(cls, events, *, using="default"):
        """Add ``events`` (just inserted, in the caller's transaction) to their programs'
        totals, each program's row locked first and written once."""
        by_program: dict[int, list] = {}
        for event in events:
            by_program.setdefault(event.program_id, []).append(event)
        for program_id in sorted(by_program):
            balance = cls._locked(program_id, using=using)
            for event in by_program[program_id]:
                amount = Decimal(event.amount)
                if event.kind == EnvelopeEvent.Kind.COMMIT:
                    balance.committed += amount
                elif event.kind == EnvelopeEvent.Kind.DECOMMIT:
                    balance.committed -= amount
                elif event.kind == EnvelopeEvent.Kind.RELEASE:
                    balance.released += amount
                balance.events += 1
            balance.updated_at = timezone.now()
            balance.save(using=using, update_fields=["committed", "released", "events", "updated_at"])

    @classmethod
    def _locked(cls, program_id, *, using):
        # The program's first event creates the row (its caller holds the program's row
        # lock, and get_or_create takes the row a concurrent creation made).
        balance, _created = cls.objects.using(using).select_for_update().get_or_create(program_id=program_id)
        return balance
