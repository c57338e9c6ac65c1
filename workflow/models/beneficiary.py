"""The beneficiary (porteuse de projet). CIN and disability status are sensitive
(law 09-08): they never enter audit payloads except as salted hashes."""

from datetime import date

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core.validators import normalize_cin, normalize_phone, validate_cin, validate_phone

# Earlier birth dates are typing mistakes (a beneficiary's age is also checked against
# the program's range when the application is entered).
EARLIEST_BIRTH_DATE = date(1900, 1, 1)


class Beneficiary(models.Model):
    class Gender(models.TextChoices):
        FEMALE = "F", _("female")
        MALE = "M", _("male")

    class DisabilityProof(models.TextChoices):
        NONE = "", _("none")
        CARD = "card", _("national disability card")
        MEDICAL = "medical_certificate", _("medical certificate")
        OTHER = "other", _("other supporting document")

    class DocumentLanguage(models.TextChoices):
        # The language of the letters and attestations handed to the beneficiary (both exist; this
        # one comes first).
        ARABIC = "ar", _("Arabic")
        FRENCH = "fr", _("French")

    first_name = models.CharField(_("first name (Latin script)"), max_length=80)
    last_name = models.CharField(_("last name (Latin script)"), max_length=80)
    first_name_ar = models.CharField(_("first name (Arabic)"), max_length=80)
    last_name_ar = models.CharField(_("last name (Arabic)"), max_length=80)
    cin = models.CharField(
        _("national ID (CIN)"), max_length=8, unique=True, validators=[validate_cin]
    )
    phone = models.CharField(_("phone"), max_length=13, validators=[validate_phone])
    gender = models.CharField(_("gender"), max_length=1, choices=Gender.choices)
    birth_date = models.DateField(_("birth date"))
    commune = models.ForeignKey(
        "workflow.Commune", on_delete=models.PROTECT, related_name="beneficiaries",
        verbose_name=_("commune"),
    )
    address = models.CharField(_("address"), max_length=255, blank=True)
    document_language = models.CharField(
        _("language of the letters and attestations"), max_length=2, choices=DocumentLanguage.choices,
        default=DocumentLanguage.ARABIC,
    )
    # Category: at least one of the two.
    is_woman_in_difficulty = models.BooleanField(_("woman in a difficult situation"), default=False)
    has_disability = models.BooleanField(_("person with a disability"), default=False)
    disability_proof = models.CharField(
        _("proof of disability"), max_length=30, choices=DisabilityProof.choices, blank=True
    )
    last_support_date = models.DateField(
        _("last support from a comparable program"), null=True, blank=True
    )
    consent_given = models.BooleanField(_("consent to data processing"), default=False)
    consent_date = models.DateField(_("consent date"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["last_name", "first_name"]
        verbose_name = _("beneficiary")
        verbose_name_plural = _("beneficiaries")
        permissions = [
            ("view_sensitive_beneficiary", "Can view CIN and disability details"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(consent_given=False) | Q(consent_date__isnull=False),
                name="beneficiary_consent_dated",
            ),
            models.CheckConstraint(
                condition=Q(has_disability=False) | ~Q(disability_proof=""),
                name="beneficiary_disability_proved",
            ),
        ]

    def __str__(self):
        return f"{self.first_name} {self.last_name}"

    @property
    def full_name_ar(self):
        return f"{self.first_name_ar} {self.last_name_ar}"

    def age_on(self, day: date) -> int:
        years = day.year - self.birth_date.year
        if (day.month, day.day) < (self.birth_date.month, self.birth_date.day):
            years -= 1
        return years

    def unique_error_message(self, model_class, unique_check):
        if tuple(unique_check) == ("cin",):
            return ValidationError(_(
                "A beneficiary with this national ID (CIN) is already registered: "
                "find her or him with the search above instead of registering again."
            ), code="unique")
        return super().unique_error_message(model_class, unique_check)

    def clean_fields(self, exclude=None):
        # Normalise before the field validators run, so "ab 12345" becomes "AB12345".
        self.cin = normalize_cin(self.cin)
        self.phone = normalize_phone(self.phone)
        super().clean_fields(exclude=exclude)

    def clean(self):
        errors = {}
        if not (self.is_woman_in_difficulty or self.has_disability):
            errors["is_woman_in_difficulty"] = _(
                "Choose at least one category: woman in a difficult situation or person with a disability."
            )
        if self.is_woman_in_difficulty and self.gender != self.Gender.FEMALE:
            errors["gender"] = _("The category 'woman in a difficult situation' requires gender female.")
        if self.has_disability and not self.disability_proof:
            errors["disability_proof"] = _("Say how the disability is proven.")
        if not self.has_disability and self.disability_proof:
            errors["disability_proof"] = _("A proof of disability only applies to a person with a disability.")
        if self.consent_given and not self.consent_date:
            errors["consent_date"] = _("Give the date consent was collected.")
        today = date.today()
        born = self.birth_date if isinstance(self.birth_date, date) else None
        if born and born > today:
            errors["birth_date"] = _("The birth date cannot be in the future.")
        elif born and born < EARLIEST_BIRTH_DATE:
            errors["birth_date"] = _("The birth date is not plausible.")
        consented = self.consent_date if isinstance(self.consent_date, date) else None
        if consented and consented > today:
            errors["consent_date"] = _("The consent date cannot be in the future.")
        elif consented and born and "birth_date" not in errors and consented < born:
            errors["consent_date"] = _("The consent date cannot be before the birth date.")
        if errors:
            raise ValidationError(errors)
