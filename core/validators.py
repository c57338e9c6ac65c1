"""Moroccan identifiers: national ID (CIN) and phone numbers.

Both are normalised before validation so that what people type ("ab 123456",
"06 12 34 56 78", "+212 (0)6 12 34 56 78", or digits typed on an Arabic keyboard,
"٠٦١٢٣٤٥٦٧٨") is accepted and stored in one canonical form.
"""

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

CIN_PATTERN = re.compile(r"[A-Z]{1,2}[0-9]{5,6}")
_SEPARATORS = re.compile(r"[\s.\-/()]")
# Arabic-Indic (٠-٩) and Eastern Arabic-Indic (۰-۹) digits, as Arabic keyboards type them.
_ASCII_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "0123456789" * 2)


def _compact(value: str) -> str:
    return _SEPARATORS.sub("", (value or "").translate(_ASCII_DIGITS))


def normalize_cin(value: str) -> str:
    return _compact(value).upper()


def validate_cin(value: str) -> None:
    if not CIN_PATTERN.fullmatch(value or ""):
        raise ValidationError(
            _("Enter a national ID (CIN): one or two letters then 5 or 6 digits, e.g. S123456."),
            code="invalid_cin",
        )


def normalize_phone(value: str) -> str:
    """Return the E.164 form (+212XXXXXXXXX) of a Moroccan number, or the input unchanged."""
    digits = _compact(value)
    if digits.startswith("+212"):
        national = digits[4:]
    elif digits.startswith("00212"):
        national = digits[5:]
    elif digits.startswith("212") and len(digits) == 12:
        national = digits[3:]
    elif digits.startswith("0") and len(digits) == 10:
        national = digits[1:]
    else:
        return digits
    if national.startswith("0") and len(national) == 10:
        national = national[1:]  # "+212 (0)6…": the trunk 0 written after the country code
    return "+212" + national


def validate_phone(value: str) -> None:
    if not re.fullmatch(r"\+212[567][0-9]{8}", value or ""):
        raise ValidationError(
            _("Enter a Moroccan phone number: +212 then 9 digits starting with 5, 6 or 7."),
            code="invalid_phone",
        )
