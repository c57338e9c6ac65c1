"""Disbursements: tranches paid against a purchase order or a project.

``requested → authorized → released``, or ``rejected`` / ``cancelled``. Three distinct
people: a finance officer requests (maker), an authorizing officer authorizes
(ordonnateur), a treasurer releases (comptable). The services enforce it on user ids,
whatever groups a user holds; the database holds it too (check constraints below).
"""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from core.money import format_mad
from ledger.models import AuditedModel


class DisbursementState(models.TextChoices):
    REQUESTED = "requested", _("requested")
    AUTHORIZED = "authorized", _("authorized")
    RELEASED = "released", _("released")
    REJECTED = "rejected", _("rejected")
    CANCELLED = "cancelled", _("cancelled")


D = DisbursementState


class Disbursement(ConcurrentTransitionMixin, AuditedModel):
    project = models.ForeignKey(
        "workflow.GrantProject", on_delete=models.PROTECT, related_name="disbursements",
        verbose_name=_("project"),
    )
    purchase_order = models.ForeignKey(
        "disbursements.PurchaseOrder", on_delete=models.PROTECT, null=True, blank=True,
        related_name="disbursements", verbose_name=_("purchase order"),
    )
    amount = models.DecimalField(_("amount (MAD)"), max_digits=12, decimal_places=2)
    purpose = models.TextField(_("purpose"), blank=True)
    state = FSMField(_("state"), default=D.REQUESTED, choices=D.choices, protected=True, db_index=True)

    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(auto_now_add=True)
    request_key = models.CharField(_("request idempotency key"), max_length=120, unique=True, null=True,
                                   blank=True)
    authorized_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    authorized_at = models.DateTimeField(null=True, blank=True)
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    released_at = models.DateTimeField(null=True, blank=True)
    payment_reference = models.CharField(_("payment reference"), max_length=100, blank=True)
    release_key = models.CharField(_("release idempotency key"), max_length=120, unique=True, null=True,
                                   blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        help_text=_("Who rejected or cancelled the request."),
    )
    closed_at = models.DateTimeField(null=True, blank=True)
    closing_reason = models.TextField(_("reason for rejection or cancellation"), blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-requested_at", "-pk"]
        verbose_name = _("disbursement")
        verbose_name_plural = _("disbursements")
        permissions = [
            ("request_disbursement", "Can request (and cancel) a disbursement"),
            ("authorize_disbursement", "Can authorize or reject a disbursement"),
            ("release_disbursement", "Can release the funds of a disbursement"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="disbursement_amount_positive"),
            # Separation of duties, held by the database as a backstop of the services.
            models.CheckConstraint(
                condition=Q(authorized_by__isnull=True) | ~Q(authorized_by=F("requested_by")),
                name="disbursement_authorizer_is_not_requester",
            ),
            models.CheckConstraint(
                condition=Q(released_by__isnull=True)
                | (~Q(released_by=F("requested_by")) & ~Q(released_by=F("authorized_by"))),
                name="disbursement_releaser_is_third_person",
            ),
            models.CheckConstraint(
                condition=~Q(state="released")
                | (Q(released_by__isnull=False) & Q(authorized_by__isnull=False)
                   & Q(release_key__isnull=False) & ~Q(payment_reference="")),
                name="disbursement_release_is_complete",
            ),
        ]
        indexes = [models.Index(fields=["project", "state"])]

    def __str__(self):
        return f"{self.reference} — {format_mad(self.amount)} ({self.get_state_display()})"

    @property
    def reference(self):
        return f"DB-{self.requested_at.year if self.requested_at else 0}-{self.pk or 0:05d}"

    @transition(field=state, source=D.REQUESTED, target=D.AUTHORIZED,
                permission="disbursements.authorize_disbursement")
    def authorize(self):
        pass

    @transition(field=state, source=D.REQUESTED, target=D.REJECTED,
                permission="disbursements.authorize_disbursement")
    def reject(self):
        pass

    @transition(field=state, source=D.AUTHORIZED, target=D.RELEASED,
                permission="disbursements.release_disbursement")
    def release(self):
        pass

    @transition(field=state, source=[D.REQUESTED, D.AUTHORIZED], target=D.CANCELLED,
                permission="disbursements.request_disbursement")
    def cancel(self):
        pass
