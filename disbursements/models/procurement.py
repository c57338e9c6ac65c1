"""Equipment procurement: the plan, suppliers, competing quotes, purchase orders and
their receipt report (procès-verbal de réception).

A purchase order is the unit of one purchase: while it is a draft the finance officer
collects competing quotes on it and chooses one (with the reason); issuing it needs
three quotes from distinct suppliers or a written justification, an amount within the
per-order limit and within what the project still has to spend. Transitions here only
guard and set state; services in ``disbursements.services`` lock, audit and save.
"""

from decimal import Decimal

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from core.money import format_mad
from ledger.models import AuditedModel
from workflow.guards import guard

MIN_COMPETING_QUOTES = 3
SHA256_VALIDATOR = RegexValidator(r"^[0-9a-f]{64}$", _("A SHA-256 is 64 lowercase hexadecimal characters."))


class EquipmentItem(models.Model):
    """One line of a project's equipment plan."""

    project = models.ForeignKey(
        "workflow.GrantProject", on_delete=models.PROTECT, related_name="equipment_items",
        verbose_name=_("project"),
    )
    description = models.CharField(_("description"), max_length=200)
    quantity = models.PositiveIntegerField(_("quantity"))
    unit_price = models.DecimalField(_("unit price (MAD, incl. tax)"), max_digits=12, decimal_places=2)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["project", "pk"]
        verbose_name = _("equipment plan item")
        verbose_name_plural = _("equipment plan items")
        permissions = [("plan_equipment", "Can edit a project's equipment plan")]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="equipment_item_quantity_positive"),
            models.CheckConstraint(condition=Q(unit_price__gt=0), name="equipment_item_price_positive"),
        ]

    def __str__(self):
        return f"{self.quantity} × {self.description}"

    @property
    def total(self) -> Decimal:
        return self.unit_price * self.quantity


class Supplier(models.Model):
    name = models.CharField(_("name"), max_length=200, unique=True)
    # Identifiant Commun de l'Entreprise: 15 digits, printed on every Moroccan invoice.
    ice = models.CharField(
        _("ICE"), max_length=15, blank=True,
        validators=[RegexValidator(r"^[0-9]{15}$", _("The ICE has 15 digits."))],
    )
    city = models.CharField(_("city"), max_length=100, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("supplier")
        verbose_name_plural = _("suppliers")

    def __str__(self):
        return self.name


class OrderState(models.TextChoices):
    DRAFT = "draft", _("draft")
    ISSUED = "issued", _("issued")
    DELIVERED = "delivered", _("delivered")
    RECEIVED = "received", _("received")


# --- Guards (the order is locked by the calling service) ------------------------------


@guard("quote_not_chosen", _("Choose one of the quotes first."))
def has_chosen_quote(order):
    return order.chosen_quote_id is not None and order.amount is not None


@guard(
    "quotes_insufficient",
    _("A purchase needs at least three competing quotes from distinct suppliers, or a written justification."),
)
def competition_documented(order):
    return order.quotes.count() >= MIN_COMPETING_QUOTES or bool(order.quote_justification.strip())


@guard("order_over_limit", _("A purchase order cannot exceed the legal limit per order (incl. tax)."))
def within_order_limit(order):
    from core.input import parse_money

    return order.amount is None or order.amount <= parse_money(settings.TAMKEEN_PURCHASE_ORDER_LIMIT, "limit")


@guard("receipt_not_signed", _("The receipt report must be signed by the beneficiary and the mentor."))
def receipt_signed(order):
    receipt = ReceiptReport.objects.filter(order=order).first()
    return receipt is not None and receipt.is_signed


class PurchaseOrder(ConcurrentTransitionMixin, AuditedModel):
    project = models.ForeignKey(
        "workflow.GrantProject", on_delete=models.PROTECT, related_name="purchase_orders",
        verbose_name=_("project"),
    )
    description = models.TextField(_("what is bought"))
    supplier = models.ForeignKey(
        Supplier, on_delete=models.PROTECT, null=True, blank=True, related_name="orders",
        verbose_name=_("supplier"),
    )
    chosen_quote = models.OneToOneField(
        "disbursements.Quote", on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        verbose_name=_("chosen quote"),
    )
    amount = models.DecimalField(
        _("amount (MAD, incl. tax)"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    choice_reason = models.TextField(_("reason for the choice"), blank=True)
    quote_justification = models.TextField(_("justification for fewer than three quotes"), blank=True)

    state = FSMField(_("state"), default=OrderState.DRAFT, choices=OrderState.choices, protected=True,
                     db_index=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    issued_at = models.DateTimeField(null=True, blank=True)
    delivered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    delivered_at = models.DateTimeField(null=True, blank=True)
    received_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    received_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["project", "pk"]
        verbose_name = _("purchase order")
        verbose_name_plural = _("purchase orders")
        permissions = [
            ("prepare_purchaseorder", "Can prepare a purchase order (quotes, choice)"),
            ("issue_purchaseorder", "Can issue a purchase order"),
            ("receive_purchaseorder", "Can record delivery and receipt of a purchase order"),
            ("confirm_receipt", "Can sign a receipt report as the mentor"),
            ("witness_receipt", "Can record the beneficiary's signature of a receipt report as witness"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__isnull=True) | Q(amount__gt=0), name="purchase_order_amount_positive"
            ),
            models.CheckConstraint(
                condition=Q(state="draft") | (Q(amount__isnull=False) & Q(chosen_quote__isnull=False)),
                name="purchase_order_issued_has_quote",
            ),
        ]

    def __str__(self):
        return f"{self.reference} — {self.description[:40]}"

    @property
    def reference(self):
        return f"BC-{self.created_at.year if self.created_at else 0}-{self.pk or 0:05d}"

    # --- Lifecycle: draft → issued → delivered → received ------------------------------
    @transition(field=state, source=OrderState.DRAFT, target=None,
                permission="disbursements.prepare_purchaseorder")
    def add_quote(self):
        pass

    @transition(field=state, source=OrderState.DRAFT, target=None,
                permission="disbursements.prepare_purchaseorder", conditions=[competition_documented])
    def choose_quote(self):
        pass

    @transition(
        field=state, source=OrderState.DRAFT, target=OrderState.ISSUED,
        permission="disbursements.issue_purchaseorder",
        conditions=[has_chosen_quote, competition_documented, within_order_limit],
    )
    def issue(self):
        pass

    @transition(field=state, source=OrderState.ISSUED, target=OrderState.DELIVERED,
                permission="disbursements.receive_purchaseorder")
    def deliver(self):
        pass

    # The receipt report's signatures: each is audited on the order's chain.
    @transition(field=state, source=OrderState.DELIVERED, target=None,
                permission="disbursements.receive_purchaseorder")
    def attach_receipt_scan(self):
        pass

    @transition(field=state, source=OrderState.DELIVERED, target=None,
                permission="disbursements.confirm_receipt")
    def confirm_receipt(self):
        pass

    @transition(field=state, source=OrderState.DELIVERED, target=None,
                permission="disbursements.witness_receipt")
    def witness_receipt(self):
        pass

    @transition(field=state, source=OrderState.DELIVERED, target=OrderState.RECEIVED,
                permission="disbursements.receive_purchaseorder", conditions=[receipt_signed])
    def receive(self):
        pass


class Quote(models.Model):
    """A supplier's quote (devis) for one purchase order, tax included."""

    order = models.ForeignKey(PurchaseOrder, on_delete=models.PROTECT, related_name="quotes",
                              verbose_name=_("purchase order"))
    supplier = models.ForeignKey(Supplier, on_delete=models.PROTECT, related_name="quotes",
                                 verbose_name=_("supplier"))
    amount = models.DecimalField(_("amount (MAD, incl. tax)"), max_digits=12, decimal_places=2)
    reference = models.CharField(_("supplier's reference"), max_length=60, blank=True)
    document_sha256 = models.CharField(_("SHA-256 of the scanned quote"), max_length=64, blank=True,
                                       validators=[SHA256_VALIDATOR])
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["order", "amount", "pk"]
        verbose_name = _("quote")
        verbose_name_plural = _("quotes")
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="quote_amount_positive"),
            # Competing quotes come from distinct suppliers.
            models.UniqueConstraint(fields=["order", "supplier"], name="quote_one_per_supplier_and_order"),
        ]

    def __str__(self):
        return f"{self.supplier} — {format_mad(self.amount)}"


class ReceiptReport(models.Model):
    """The procès-verbal de réception of one delivered order.

    Signed either by a scan of the paper report bearing both signatures (kept with its
    SHA-256), or in the application: the mentor confirms as a user, and the
    beneficiary — who has no account — confirms in front of the association agent, who
    records it as witness. Mentor and witness must be two different people.
    """

    order = models.OneToOneField(PurchaseOrder, on_delete=models.PROTECT, related_name="receipt",
                                 verbose_name=_("purchase order"))
    scan = models.FileField(_("signed scan"), upload_to="receipts/%Y/%m/", blank=True)
    scan_sha256 = models.CharField(max_length=64, blank=True, validators=[SHA256_VALIDATOR])
    scan_uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    mentor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        verbose_name=_("mentor who signed"),
    )
    mentor_signed_at = models.DateTimeField(null=True, blank=True)
    beneficiary_witness = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        verbose_name=_("witness of the beneficiary's signature"),
    )
    beneficiary_signed_at = models.DateTimeField(null=True, blank=True)
    beneficiary_statement = models.TextField(_("beneficiary's remarks"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("receipt report")
        verbose_name_plural = _("receipt reports")
        constraints = [
            models.CheckConstraint(
                condition=Q(mentor__isnull=True) | Q(beneficiary_witness__isnull=True)
                | ~Q(mentor=models.F("beneficiary_witness")),
                name="receipt_mentor_is_not_witness",
            ),
        ]

    def __str__(self):
        return f"PV {self.order.reference}"

    @property
    def is_signed(self) -> bool:
        return bool(self.scan_sha256) or (self.mentor_id is not None and self.beneficiary_witness_id is not None)

    @property
    def method(self) -> str:
        return "scan" if self.scan_sha256 else "in_app"
