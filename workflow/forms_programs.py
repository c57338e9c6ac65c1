"""Forms of the programs' pages: they parse what people type; ``program_create`` and
``program_update`` decide (their coded errors go back on the field they name, which
bears the setting's name).

Two settings get friendlier inputs than their stored form: the required documents
are checkboxes of the document types, the follow-up visits a comma-separated list of
months.
"""

import re

from django import forms
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from workflow.models import DocumentType, Program
from workflow.models.program import SETTING_FIELDS

_MONTHS = re.compile(r"[\s,;،؛]+")  # Latin and Arabic commas and semicolons


def _label(name):
    return capfirst(Program._meta.get_field(name).verbose_name)


def _number(name, **attrs):
    return forms.IntegerField(label=_label(name), required=False, widget=forms.NumberInput(attrs=attrs))


class ProgramFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=100)


class ProgramForm(forms.Form):
    """Every setting of a program (and its code, when it is set up)."""

    code = forms.CharField(
        label=_label("code"), required=False, max_length=40,
        help_text=_("Letters, digits and hyphens, e.g. nador-2026. It cannot be changed later."),
    )
    name = forms.CharField(label=_label("name"), required=False, max_length=200)
    year = _number("year", min=2000, max=2100)
    province = forms.CharField(label=_label("province"), required=False, max_length=60)
    # Text, not a number field: the service reads French amounts ("2 000 000,00") too.
    envelope = forms.CharField(label=_label("envelope"), required=False, max_length=30)
    project_ceiling = forms.CharField(label=_label("project_ceiling"), required=False, max_length=30)
    contribution_share = forms.CharField(
        label=_label("contribution_share"), required=False, max_length=10,
        help_text=Program._meta.get_field("contribution_share").help_text,
    )
    min_age = _number("min_age", min=0)
    max_age = _number("max_age", min=0)
    support_cooldown_years = _number("support_cooldown_years", min=0)
    required_documents = forms.MultipleChoiceField(
        label=_label("required_documents"), required=False, choices=DocumentType.choices,
        widget=forms.CheckboxSelectMultiple,
    )
    training_threshold = _number("training_threshold", min=0, max=100)
    followup_offsets = forms.CharField(
        label=_label("followup_offsets"), required=False, max_length=200,
        help_text=_("Months after launch, separated by commas, e.g. 3, 6, 12, 24."),
    )
    quorum_percent = _number("quorum_percent", min=1, max=100)
    majority_rule = forms.ChoiceField(label=_label("majority_rule"), choices=Program.MajorityRule.choices)
    is_active = forms.BooleanField(label=_label("is_active"), required=False)

    def __init__(self, *args, creating=False, **kwargs):
        super().__init__(*args, **kwargs)
        if not creating:
            del self.fields["code"]

    def clean_followup_offsets(self):
        text = self.cleaned_data["followup_offsets"].strip()
        months = [part for part in _MONTHS.split(text) if part]
        if not all(part.isdigit() for part in months):
            raise forms.ValidationError(_("Write whole months separated by commas, e.g. 3, 6, 12, 24."),
                                        code="months")
        return [int(part) for part in months]

    def settings(self) -> dict:
        """The settings as the services take them."""
        return {name: self.cleaned_data[name] for name in SETTING_FIELDS}

    @staticmethod
    def initial_from(program) -> dict:
        initial = {name: getattr(program, name) for name in SETTING_FIELDS}
        initial["followup_offsets"] = ", ".join(str(month) for month in program.followup_offsets or [])
        return initial
