"""Forms of the association agent's intake screens: they parse input; the intake
services decide.

CIN and phone normalisation, the categories, the disability proof, the dated consent,
the amounts (French formats such as "52 500,00") and the program's ceiling are checked
by ``workflow.services.intake``, whose coded errors go back on the form, field by field.
"""

from django import forms
from django.conf import settings
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core.bidi import isolated_hint
from core.forms import UploadField
from core.money import format_amount
from workflow.models import ActivitySector, Beneficiary, Commune, DocumentType, Program
from workflow.models.documents import DISABILITY_PROOF_TYPES

DATE_WIDGET = {"widget": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")}
# Filled in only when a new beneficiary is registered.
NEW_BENEFICIARY_REQUIRED = (
    "first_name", "last_name", "first_name_ar", "last_name_ar", "cin", "phone", "gender",
    "birth_date", "commune",
)
BENEFICIARY_FORM_FIELDS = (
    *NEW_BENEFICIARY_REQUIRED, "address", "document_language", "is_woman_in_difficulty", "has_disability",
    "disability_proof", "last_support_date", "consent_given", "consent_date",
)
PROJECT_FORM_FIELDS = ("program", "title", "sector", "description", "requested_amount", "own_contribution")


def open_programs():
    return Program.objects.filter(is_active=True).order_by("-year", "name")


def intake_communes():
    """Active communes of the provinces that have a program open for applications."""
    provinces = open_programs().values("province")
    return Commune.objects.filter(active=True, province__in=provinces)


def active_sectors():
    return ActivitySector.objects.filter(active=True)


def search_beneficiaries(text, *, with_cin):
    """Beneficiaries matching ``text`` by name (Latin or Arabic) and, for the roles
    allowed to see it, by national ID."""
    text = (text or "").strip()
    if not text:
        return Beneficiary.objects.none()
    match = Q()
    for word in text.split()[:4]:
        match &= (Q(first_name__icontains=word) | Q(last_name__icontains=word)
                  | Q(first_name_ar__icontains=word) | Q(last_name_ar__icontains=word))
    if with_cin:
        match |= Q(cin__iexact=text.replace(" ", "").upper())
    return Beneficiary.objects.filter(match).select_related("commune").order_by("last_name", "first_name", "pk")


class AmountField(forms.CharField):
    """Text, not a number field: the service parses "52 500,00" and says what is wrong."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 20)
        kwargs.setdefault("widget", forms.TextInput(attrs={"inputmode": "decimal", "dir": "ltr"}))
        super().__init__(**kwargs)


class ProjectFieldsMixin(forms.Form):
    title = forms.CharField(label=_("Project title"), max_length=200)
    sector = forms.ModelChoiceField(label=_("Activity sector"), queryset=ActivitySector.objects.none())
    description = forms.CharField(label=_("Description"), max_length=5000, widget=forms.Textarea(attrs={"rows": 4}))
    requested_amount = AmountField(label=_("Requested amount (MAD)"), help_text=isolated_hint(_("e.g. %(amount)s"), amount=lambda: format_amount(52500)))
    own_contribution = AmountField(
        label=_("Own contribution (MAD)"), initial="0",
        help_text=_("The beneficiary's share of the cost, in cash or in kind."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["sector"].queryset = active_sectors()


class ApplicationForm(ProjectFieldsMixin):
    """Step 1: an existing beneficiary (``beneficiary``) or a new one; step 2: the project."""

    beneficiary = forms.ModelChoiceField(
        queryset=Beneficiary.objects.all(), required=False, widget=forms.HiddenInput,
    )
    # The new beneficiary.
    first_name = forms.CharField(label=_("First name (Latin script)"), max_length=80, required=False)
    last_name = forms.CharField(label=_("Last name (Latin script)"), max_length=80, required=False)
    first_name_ar = forms.CharField(label=_("First name (Arabic)"), max_length=80, required=False,
                                    widget=forms.TextInput(attrs={"dir": "rtl", "lang": "ar"}))
    last_name_ar = forms.CharField(label=_("Last name (Arabic)"), max_length=80, required=False,
                                   widget=forms.TextInput(attrs={"dir": "rtl", "lang": "ar"}))
    cin = forms.CharField(label=_("National ID (CIN)"), max_length=20, required=False,
                          help_text=isolated_hint(_("e.g. %(cin)s"), cin="S123456"), widget=forms.TextInput(attrs={"dir": "ltr"}))
    phone = forms.CharField(label=_("Phone"), max_length=20, required=False, help_text=isolated_hint(_("e.g. %(phone)s"), phone="06 12 34 56 78"),
                            widget=forms.TextInput(attrs={"dir": "ltr", "inputmode": "tel"}))
    gender = forms.ChoiceField(label=_("Gender"), required=False,
                               choices=[("", "—"), *Beneficiary.Gender.choices])
    birth_date = forms.DateField(label=_("Birth date"), required=False, **DATE_WIDGET)
    commune = forms.ModelChoiceField(label=_("Commune"), queryset=Commune.objects.none(), required=False)
    address = forms.CharField(label=_("Address"), max_length=255, required=False)
    document_language = forms.ChoiceField(
        label=_("Language of the letters and attestations"), required=False,
        choices=Beneficiary.DocumentLanguage.choices, initial=Beneficiary.DocumentLanguage.ARABIC,
        help_text=_("Both languages can always be printed; this one is offered first."),
    )
    is_woman_in_difficulty = forms.BooleanField(label=_("Woman in a difficult situation"), required=False)
    has_disability = forms.BooleanField(label=_("Person with a disability"), required=False)
    disability_proof = forms.ChoiceField(
        label=_("Proof of disability"), required=False,
        choices=[("", "—"), *[c for c in Beneficiary.DisabilityProof.choices if c[0]]],
    )
    last_support_date = forms.DateField(
        label=_("Last support from a comparable program"), required=False,
        help_text=_("Leave empty if none."), **DATE_WIDGET,
    )
    consent_given = forms.BooleanField(
        label=_("The beneficiary consents to the processing of her or his personal data"), required=False,
    )
    consent_date = forms.DateField(label=_("Consent date"), required=False, **DATE_WIDGET)
    # The project.
    program = forms.ModelChoiceField(label=_("Program"), queryset=Program.objects.none())

    field_order = ["beneficiary", *BENEFICIARY_FORM_FIELDS, *PROJECT_FORM_FIELDS]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["commune"].queryset = intake_communes()
        self.fields["program"].queryset = open_programs()

    def beneficiary_fields(self):
        return [self[name] for name in BENEFICIARY_FORM_FIELDS]

    def project_fields(self):
        return [self[name] for name in PROJECT_FORM_FIELDS]

    def clean(self):
        data = super().clean()
        if data.get("beneficiary") is None and "beneficiary" not in self.errors:
            for name in NEW_BENEFICIARY_REQUIRED:
                if name not in self.errors and data.get(name) in (None, ""):
                    self.add_error(name, forms.ValidationError(_("This field is required."), code="required"))
            if not data.get("consent_given") and "consent_given" not in self.errors:
                self.add_error("consent_given", _(
                    "Record the beneficiary's consent to data processing: "
                    "an application cannot be submitted without it."
                ))
        return data

    def checked_arguments(self) -> dict:
        """What ``service_arguments`` gives, from the fields that passed the form's own
        checks only (for ``application_errors`` on a form that failed them)."""
        data = self.cleaned_data
        arguments = {
            "program": data.get("program"),
            "project_fields": {n: data[n] for n in PROJECT_FORM_FIELDS if n != "program" and n in data},
        }
        if data.get("beneficiary") is not None:
            arguments["beneficiary"] = data["beneficiary"]
        elif "beneficiary" not in self.errors:
            arguments["beneficiary_fields"] = {n: data[n] for n in BENEFICIARY_FORM_FIELDS if n in data}
        return arguments

    def add_errors_not_shown(self, field_errors: dict) -> None:
        """Add the service's errors on the fields the form has not already refused (a
        missing field keeps its own message, not the model's)."""
        for name, messages in field_errors.items():
            if name in self.fields and name not in self.errors:
                for message in messages:
                    self.add_error(name, forms.ValidationError(message, code="invalid"))

    def service_arguments(self) -> dict:
        data = self.cleaned_data
        arguments = {
            "program": data["program"],
            "project_fields": {name: data[name] for name in PROJECT_FORM_FIELDS if name != "program"},
        }
        if data.get("beneficiary") is not None:
            arguments["beneficiary"] = data["beneficiary"]
        else:
            fields = {name: data[name] for name in BENEFICIARY_FORM_FIELDS}
            fields["disability_proof"] = fields["disability_proof"] or ""
            fields["document_language"] = fields["document_language"] or Beneficiary.DocumentLanguage.ARABIC
            arguments["beneficiary_fields"] = fields
        return arguments


class ProjectEditForm(ProjectFieldsMixin):
    """A draft's (or a returned file's) title, sector, description and amounts."""

    @classmethod
    def for_project(cls, project, data=None):
        return cls(data, initial={
            "title": project.title, "sector": project.sector_id, "description": project.description,
            "requested_amount": project.requested_amount, "own_contribution": project.own_contribution,
        })


def document_type_choices(project):
    """The program's required documents (and a disability proof when the file needs one)
    first, then every other type."""
    required = [t for t in project.required_document_types() if t in DocumentType.values]
    if project.beneficiary.has_disability:
        required += [t.value for t in DISABILITY_PROOF_TYPES if t.value not in required]
    others = [t for t in DocumentType.values if t not in required]
    return [
        ("", "—"),
        (_("Required for this application"), [(t, DocumentType(t).label) for t in required]),
        (_("Other documents"), [(t, DocumentType(t).label) for t in others]),
    ]


class DocumentUploadForm(forms.Form):
    doc_type = forms.ChoiceField(label=_("Document type"))
    file = UploadField(label=_("File"))

    def __init__(self, project, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["doc_type"].choices = document_type_choices(project)
        self.fields["file"].help_text = _("A PDF, JPEG or PNG file of at most %(mb)d MB: a scan or a photo "
                                          "of the paper document.") % {
            "mb": settings.TAMKEEN_MAX_DOCUMENT_BYTES // 2**20
        }
