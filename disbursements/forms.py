"""Forms of the funding screens. They only collect what the user typed: every rule
(amounts, separation of duties, budgets, step-up) is the services' business, and their
coded errors come back on these forms through ``core.forms.add_service_error``."""

import hashlib
import uuid

from django import forms
from django.utils.translation import gettext_lazy as _

from core.bidi import isolated_hint
from core.exceptions import InvalidInput
from core.forms import UploadField, add_service_error
from core.money import format_amount, format_mad
from core.uploads import check_upload
from disbursements.models import OrderState, PurchaseOrder, Quote, Supplier
from disbursements.selectors import suppliers_to_quote
from twofactor.stepup import add_second_factor
from workflow.models import Program

AMOUNT_HELP = isolated_hint(_("In dirhams, tax included, e.g. %(amount)s."), amount=lambda: format_amount(52500))


def new_key() -> str:
    """A fresh idempotency key, put in the form when it is rendered: submitting the
    same rendered form twice sends the same key, so the service acts once."""
    return uuid.uuid4().hex


class AuthorizeForm(forms.Form):
    note = forms.CharField(label=_("Note (optional)"), required=False, max_length=2000)


class RejectForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason for rejection"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2}),
    )


class DecommitForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Why the commitment is given back (kept in the envelope ledger)."),
    )
    confirm = forms.BooleanField(
        label=_("I confirm: the amount goes back to the program's envelope, and this cannot be undone."),
        required=True,
    )


class ReleaseForm(forms.Form):
    password = forms.CharField(
        label=_("Your password"), strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        help_text=_("Releasing funds needs you to confirm who you are."),
    )
    payment_reference = forms.CharField(
        label=_("Payment reference"), max_length=100,
        help_text=_("The transfer or cheque reference given by the bank."),
    )
    idempotency_key = forms.CharField(label=_("Submission key"), widget=forms.HiddenInput, max_length=120)
    confirm = forms.BooleanField(
        label=_("I confirm the payment: a release cannot be undone."), required=True,
    )

    def __init__(self, *args, user=None, **kwargs):
        kwargs.setdefault("initial", {}).setdefault("idempotency_key", new_key())
        super().__init__(*args, **kwargs)
        # The treasurer's second factor, when they have one (the step-up asks for it too).
        add_second_factor(self, user)
        if self.second_factor:
            self.order_fields(["password", "otp_code", "payment_reference"])


class DisbursementRequestForm(forms.Form):
    # Text, not a DecimalField: the service parses amounts (and says why one is refused).
    amount = forms.CharField(label=_("Amount (MAD)"), max_length=30)
    purchase_order = forms.ModelChoiceField(
        label=_("Purchase order (optional)"), queryset=PurchaseOrder.objects.none(), required=False,
        empty_label=_("— The project, no particular order —"),
    )
    purpose = forms.CharField(
        label=_("Note"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}),
    )
    idempotency_key = forms.CharField(label=_("Submission key"), widget=forms.HiddenInput, max_length=120)

    def __init__(self, *args, project, **kwargs):
        kwargs.setdefault("initial", {}).setdefault("idempotency_key", new_key())
        super().__init__(*args, **kwargs)
        self.fields["purchase_order"].queryset = (
            PurchaseOrder.objects.filter(project_id=project.pk).exclude(state=OrderState.DRAFT).order_by("pk")
        )


class ProgramChoiceForm(forms.Form):
    program = forms.ModelChoiceField(label=_("Program"), queryset=Program.objects.all())


class CancelForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason for cancelling"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2}),
    )


# --- Equipment and procurement ----------------------------------------------------------------
# Amounts and quantities are text: the services parse them (and say why one is refused).


class EquipmentItemForm(forms.Form):
    description = forms.CharField(label=_("Item"), max_length=200)
    quantity = forms.CharField(label=_("Quantity"), max_length=9,
                               widget=forms.NumberInput(attrs={"min": 1, "step": 1}))
    unit_price = forms.CharField(label=_("Estimated unit price (MAD)"), max_length=30, help_text=AMOUNT_HELP)


class SupplierForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    ice = forms.CharField(label=_("ICE"), max_length=15, required=False,
                          help_text=_("The 15-digit company identifier printed on its invoices."))
    city = forms.CharField(label=_("City"), max_length=100, required=False)


class PurchaseOrderForm(forms.Form):
    description = forms.CharField(label=_("What is bought"), max_length=2000,
                                  widget=forms.Textarea(attrs={"rows": 3}))


class QuoteForm(forms.Form):
    supplier = forms.ModelChoiceField(label=_("Supplier"), queryset=Supplier.objects.none(),
                                      empty_label=_("— Choose a supplier —"))
    amount = forms.CharField(label=_("Amount (MAD, incl. tax)"), max_length=30, help_text=AMOUNT_HELP)
    reference = forms.CharField(label=_("Supplier's reference"), max_length=60, required=False)
    scan = UploadField(label=_("Scan of the quote (optional)"), required=False,
                       help_text=_("Its SHA-256 fingerprint is kept with the quote."))

    def __init__(self, *args, order, **kwargs):
        super().__init__(*args, **kwargs)
        # Only those who have not quoted yet; the service refuses a second quote anyway.
        self.fields["supplier"].queryset = suppliers_to_quote(order)

    def clean(self):
        cleaned = super().clean()
        scan = cleaned.get("scan")
        if scan:
            # Only its fingerprint is kept, of the bytes as uploaded (quote_add never
            # sees the file); still, like every upload, it must be a PDF, JPEG or PNG.
            try:
                check_upload(scan, field="scan")
            except InvalidInput as error:
                add_service_error(self, error)
                return cleaned
        cleaned["document_sha256"] = sha256_of(scan)
        return cleaned


def sha256_of(uploaded_file) -> str:
    """The hexadecimal SHA-256 of an uploaded file, or ``""`` without one."""
    if not uploaded_file:
        return ""
    digest = hashlib.sha256()
    for chunk in uploaded_file.chunks():
        digest.update(chunk)
    uploaded_file.seek(0)
    return digest.hexdigest()


class QuoteChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, quote):
        text = f"{quote.supplier.name} — {format_mad(quote.amount)}"
        return f"{text} ({quote.reference})" if quote.reference else text


class ChooseQuoteForm(forms.Form):
    quote = QuoteChoiceField(label=_("Quote"), queryset=Quote.objects.none(), widget=forms.RadioSelect,
                             empty_label=None)
    reason = forms.CharField(label=_("Reason for the choice"), max_length=2000,
                             widget=forms.Textarea(attrs={"rows": 2}))
    justification = forms.CharField(
        label=_("Justification for fewer than three quotes"), required=False, max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Required when the order has fewer than three competing quotes."),
    )

    def __init__(self, *args, order, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["quote"].queryset = order.quotes.select_related("supplier").order_by("amount", "pk")
        if order.chosen_quote_id:
            self.fields["quote"].initial = order.chosen_quote_id


class DeliveryForm(forms.Form):
    note = forms.CharField(label=_("Note (optional)"), required=False, max_length=2000,
                           widget=forms.Textarea(attrs={"rows": 2}),
                           help_text=_("Where and when the equipment was delivered, anything missing."))


class ReceiptScanForm(forms.Form):
    scan = UploadField(label=_("Scan of the signed receipt report"),
                       help_text=_("The paper report signed by the beneficiary and the mentor (PDF, JPEG or PNG)."))


class WitnessForm(forms.Form):
    statement = forms.CharField(label=_("The beneficiary's remarks (optional)"), required=False, max_length=2000,
                                widget=forms.Textarea(attrs={"rows": 2}))
