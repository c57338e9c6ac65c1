"""The steps of a purchase order, one screen each: quotes and the choice (finance officer),
issue (finance officer), delivery and the receipt report (program officer or mentor; the
mentor's signature; the beneficiary's, witnessed by the association agent), reception."""

from django import forms
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _

from disbursements import services
from disbursements.forms import ChooseQuoteForm, DeliveryForm, QuoteForm, ReceiptScanForm, WitnessForm
from disbursements.views.access import ADD_SUPPLIER
from disbursements.views.screens import OrderScreen, guard_errors_on


class OrderFormScreen(OrderScreen):
    """An order screen whose form is built for the order (its suppliers or its quotes)."""

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "order": self.order}


class QuoteAddView(OrderFormScreen):
    step = "add_quote"
    form_class = QuoteForm
    submit_label = _("Add the quote")
    success_message = _("Quote added to %(reference)s.")

    def call_service(self, form):
        data = form.cleaned_data
        return services.quote_add(
            order_id=self.order.pk, actor=self.request.user, supplier_id=data["supplier"].pk,
            amount=data["amount"], reference=data["reference"], document_sha256=data["document_sha256"],
        )

    def get_context_data(self, **kwargs):
        if self.request.user.has_perm(ADD_SUPPLIER):
            kwargs["supplier_create_url"] = f"{reverse('funding:supplier_create')}?{urlencode({'next': self.request.path})}"
        return super().get_context_data(**kwargs)


class ChooseQuoteView(OrderFormScreen):
    step = "choose_quote"
    form_class = ChooseQuoteForm
    submit_label = _("Choose this quote")
    success_message = _("Quote chosen for %(reference)s: it can now be issued.")
    # The rules the choice breaks, on the field that would satisfy them.
    rule_fields = {"quotes_insufficient": "justification", "order_over_limit": "quote",
                   "order_over_approved": "quote"}

    def call_service(self, form):
        data = form.cleaned_data
        with guard_errors_on(self.rule_fields):
            return services.purchase_order_choose_quote(
                order_id=self.order.pk, actor=self.request.user, quote_id=data["quote"].pk,
                reason=data["reason"], justification=data["justification"],
            )


class IssueView(OrderScreen):
    step = "issue"
    form_class = forms.Form
    submit_label = _("Issue the purchase order")
    success_message = _("%(reference)s issued: the supplier can deliver.")

    def call_service(self, form):
        return services.purchase_order_issue(order_id=self.order.pk, actor=self.request.user)


class DeliverView(OrderScreen):
    step = "deliver"
    form_class = DeliveryForm
    submit_label = _("Record the delivery")
    success_message = _("%(reference)s delivered: the receipt report can be signed.")

    def call_service(self, form):
        return services.purchase_order_deliver(order_id=self.order.pk, actor=self.request.user,
                                               note=form.cleaned_data["note"])


class ReceiptScanView(OrderScreen):
    step = "attach_receipt_scan"
    form_class = ReceiptScanForm
    submit_label = _("Attach the scan")
    success_message = _("The signed receipt report of %(reference)s is attached.")

    def call_service(self, form):
        return services.receipt_attach_scan(order_id=self.order.pk, actor=self.request.user,
                                            uploaded_file=form.cleaned_data["scan"])


class ReceiptConfirmView(OrderScreen):
    step = "confirm_receipt"
    form_class = forms.Form
    submit_label = _("Sign the receipt report")
    success_message = _("You signed the receipt report of %(reference)s.")

    def call_service(self, form):
        return services.receipt_confirm_mentor(order_id=self.order.pk, actor=self.request.user)


class ReceiptWitnessView(OrderScreen):
    step = "witness_receipt"
    form_class = WitnessForm
    intro = _("The beneficiary has no account: she signs the paper report in front of you, and you record it here.")
    submit_label = _("Record the beneficiary's signature")
    success_message = _("The beneficiary's signature of the receipt report of %(reference)s is recorded.")

    def call_service(self, form):
        return services.receipt_witness_beneficiary(order_id=self.order.pk, actor=self.request.user,
                                                    statement=form.cleaned_data["statement"])


class ReceiveView(OrderScreen):
    step = "receive"
    form_class = forms.Form
    submit_label = _("Record the order as received")
    success_message = _("%(reference)s received.")

    def call_service(self, form):
        return services.purchase_order_receive(order_id=self.order.pk, actor=self.request.user)
