"""Forms of the funding screens. They only collect what the user typed: every rule
(amounts, separation of duties, budgets, step-up) is the services' business, and their
coded errors come back on these forms through ``core.forms.add_service_error``."""

import uuid

from django import forms
from django.utils.translation import gettext_lazy as _

from disbursements.models import OrderState, PurchaseOrder
from workflow.models import Program


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

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("initial", {}).setdefault("idempotency_key", new_key())
        super().__init__(*args, **kwargs)


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
