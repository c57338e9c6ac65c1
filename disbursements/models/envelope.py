"""The budget envelope ledger of a program (STYLE.md §5: money like a ledger).

Append-only events — a commitment when the committee approves a project, a release
when a disbursement is paid, a decommitment when a committed project stops — each with
a unique idempotency key. Every total (committed, released, free) is a sum of events,
never a stored balance. PostgreSQL triggers refuse UPDATE/DELETE/TRUNCATE of the table
(migration 0002); the model layer refuses them everywhere.
"""

from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q, Sum
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


class EnvelopeEventQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError("envelope events cannot be updated")

    def delete(self):
        raise AppendOnlyError("envelope events cannot be deleted")

    def sums(self) -> tuple[Decimal, Decimal]:
        """(committed, released) of the events in this queryset."""
        kind = EnvelopeEvent.Kind
        totals = self.aggregate(
            commit=Sum("amount", filter=Q(kind=kind.COMMIT)),
            decommit=Sum("amount", filter=Q(kind=kind.DECOMMIT)),
            release=Sum("amount", filter=Q(kind=kind.RELEASE)),
        )
        committed = (totals["commit"] or ZERO) - (totals["decommit"] or ZERO)
        return committed, totals["release"] or ZERO


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
