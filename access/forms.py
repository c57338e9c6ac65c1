from django import forms
from django.utils.translation import gettext_lazy as _

from core.roles import Role


class PeopleFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=100)
    role = forms.ChoiceField(label=_("Role"), required=False, choices=[("", _("All roles")), *Role.choices])


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=500, widget=forms.Textarea(attrs={"rows": 3}),
                             help_text=_("Kept in the person's audit history."))


class GrantForm(ReasonForm):
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)

    field_order = ["role", "reason"]

    def __init__(self, *args, held=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = [(r.value, r.label) for r in Role if r.value not in held]


class ApproveForm(forms.Form):
    reason = forms.CharField(label=_("Note (optional)"), required=False, max_length=500,
                             widget=forms.Textarea(attrs={"rows": 2}))
