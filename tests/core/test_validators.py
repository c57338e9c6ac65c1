"""CIN and phone normalisation and validation (workflow/validators.py, DOMAIN.md
"Moroccan specifics")."""

import pytest
from django.core.exceptions import ValidationError

from core.validators import normalize_cin, normalize_phone, validate_cin, validate_phone

# --- CIN --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("S123456", "S123456"),
        ("s123456", "S123456"),
        ("ab 12345", "AB12345"),
        (" AB-123.456 ", "AB123456"),
        ("c/12345", "C12345"),
        ("\tbk 654321\n", "BK654321"),
        ("S١٢٣٤٥٦", "S123456"),  # digits typed on an Arabic keyboard
        ("ab ۱۲۳۴۵", "AB12345"),  # Eastern Arabic-Indic digits
        ("", ""),
        (None, ""),
    ],
)
def test_normalize_cin(typed, stored):
    assert normalize_cin(typed) == stored


@pytest.mark.parametrize("cin", ["S12345", "S123456", "AB12345", "AB123456", "Z999999"])
def test_a_well_formed_cin_is_accepted(cin):
    validate_cin(cin)


@pytest.mark.parametrize(
    "cin",
    [
        "", "123456", "S1234", "S1234567", "ABC12345", "AB1234567", "12345S", "S12345A",
        "S12 345", "s123456", "S-123456", "É123456", "S１２３４５６", "AB", "S123 456",
    ],
)
def test_a_malformed_cin_is_refused(cin):
    with pytest.raises(ValidationError) as caught:
        validate_cin(cin)
    assert caught.value.code == "invalid_cin"


def test_normalising_then_validating_accepts_what_people_type():
    for typed in ("s 123456", "ab-12345", " bk.654321 "):
        validate_cin(normalize_cin(typed))


def test_a_cin_with_a_trailing_newline_is_refused():
    with pytest.raises(ValidationError):
        validate_cin("S123456\n")


# --- Phone ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("06 12 34 56 78", "+212612345678"),
        ("0612345678", "+212612345678"),
        ("+212612345678", "+212612345678"),
        ("+212 6 12 34 56 78", "+212612345678"),
        ("00212612345678", "+212612345678"),
        ("00 212 612 345 678", "+212612345678"),
        ("212612345678", "+212612345678"),
        ("07.12.34.56.78", "+212712345678"),
        ("05-36-60-12-34", "+212536601234"),
        ("(0536) 60 12 34", "+212536601234"),
        ("+212 (0)6 12 34 56 78", "+212612345678"),
        ("00212 (0)5 36 60 12 34", "+212536601234"),
        ("٠٦١٢٣٤٥٦٧٨", "+212612345678"),
        ("+٢١٢ ٦١٢ ٣٤٥ ٦٧٨", "+212612345678"),
        ("۰۷ ۱۲ ۳۴ ۵۶ ۷۸", "+212712345678"),
    ],
)
def test_normalize_phone_gives_e164(typed, stored):
    assert normalize_phone(typed) == stored
    validate_phone(normalize_phone(typed))


@pytest.mark.parametrize("typed", ["", None, "061234567", "abc", "+33612345678"])
def test_normalize_phone_leaves_what_it_does_not_recognise(typed):
    assert normalize_phone(typed) == (typed or "").replace(" ", "")


@pytest.mark.parametrize("phone", ["+212512345678", "+212612345678", "+212712345678"])
def test_landlines_5_and_mobiles_6_and_7_are_accepted(phone):
    validate_phone(phone)


@pytest.mark.parametrize(
    "phone",
    [
        "+212412345678",  # no such prefix
        "+212812345678",
        "+212012345678",
        "+21261234567",  # 8 national digits
        "+2126123456789",  # 10 national digits
        "+2120612345678",  # trunk 0 kept after the country code
        "0612345678",  # not normalised
        "612345678",
        "+33612345678",
        "+212 612345678",
        "+212612345678\n",
        "+21261234567a",
        "",
    ],
)
def test_other_numbers_are_refused(phone):
    with pytest.raises(ValidationError) as caught:
        validate_phone(phone)
    assert caught.value.code == "invalid_phone"


@pytest.mark.parametrize(
    "typed", ["061234567", "06123456789", "0812345678", "0412345678", "06-12-AB-56-78"]
)
def test_wrong_lengths_and_prefixes_stay_invalid_after_normalisation(typed):
    with pytest.raises(ValidationError):
        validate_phone(normalize_phone(typed))
