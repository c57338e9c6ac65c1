"""Forms of the second factor's pages: they collect what was typed; the services and
``twofactor.verification`` decide."""

from django import forms
from django.utils.translation import gettext_lazy as _

CODE_WIDGET = forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "size": 12,
                                     "spellcheck": "false", "autocapitalize": "off"})


class TotpEnrolForm(forms.Form):
    code = forms.CharField(label=_("The code your app shows now"), max_length=12, widget=CODE_WIDGET)
    name = forms.CharField(label=_("A name for this app (optional)"), max_length=64, required=False,
                           help_text=_("E.g. “Phone”: it tells your devices apart on your security page."))


class VerifyForm(forms.Form):
    code = forms.CharField(label=_("Code"), max_length=20, widget=CODE_WIDGET,
                           help_text=_("The six digits of your authenticator app, or one of your recovery codes."))
    next = forms.CharField(widget=forms.HiddenInput, required=False)


class ResetForm(forms.Form):
    reason = forms.CharField(
        label=_("Why"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("E.g. “Phone lost, identity checked in person on 3 March.” Kept in the audit ledger."),
    )
