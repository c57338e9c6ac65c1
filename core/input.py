"""Parsing of service arguments into clean values or field-level coded errors."""

from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext as _

from core.exceptions import InvalidInput

CENT = Decimal("0.01")

# Bidirectional controls (embeddings, overrides, isolates, marks): in a name or a title
# they reorder what pages, CSV exports and the minutes show. Removed at input.
BIDI_CONTROLS = dict.fromkeys(
    [*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F, 0x061C]
)


def clean_text(value) -> str:
    """A text as the user meant it: bidirectional controls removed, surrounding
    whitespace stripped; ``None`` is the empty text."""
    if value is None:
        return ""
    return str(value).translate(BIDI_CONTROLS).strip()


def amount_digits(text: str) -> str:
    """``52 500,00`` (spaces, no-break or narrow no-break spaces, as the hints write it),
    ``52.500,00`` or ``52,500.00``: when both marks appear, the last one is the decimal
    mark; a lone comma is a decimal comma."""
    text = "".join(text.split()).replace("\u202f", "").replace("\u00a0", "")
    if "," in text and "." in text:
        grouping = "." if text.rfind(",") > text.rfind(".") else ","
        text = text.replace(grouping, "")
    return text.replace(",", ".")


def parse_money(value, field: str, *, allow_zero: bool = False) -> Decimal:
    """A MAD amount: a Decimal with at most two decimals, positive (or zero if allowed)."""
    if isinstance(value, float):
        raise InvalidInput(field_errors={field: [_("Amounts must be given as decimals, not floats.")]})
    try:
        amount = Decimal(amount_digits(str(value)))
    except (InvalidOperation, ValueError):
        raise InvalidInput(field_errors={field: [_("Enter an amount in dirhams, e.g. 45000.00.")]}) from None
    if not amount.is_finite():
        raise InvalidInput(field_errors={field: [_("Enter an amount in dirhams, e.g. 45000.00.")]})
    if amount.as_tuple().exponent < -2:
        # "1.500" is refused, not read as 1.50: in French it means one thousand five hundred.
        raise InvalidInput(field_errors={field: [_("An amount has at most two decimals.")]})
    if amount < 0 or (amount == 0 and not allow_zero):
        raise InvalidInput(field_errors={field: [_("The amount must be greater than zero.")]})
    if amount >= Decimal("1e10"):
        raise InvalidInput(field_errors={field: [_("The amount is too large.")]})
    return amount.quantize(CENT)


def require_text(value, field: str, *, max_length: int = 2000) -> str:
    text = clean_text(value)
    if not text:
        raise InvalidInput(field_errors={field: [_("This field is required.")]})
    if len(text) > max_length:
        raise InvalidInput(
            field_errors={field: [_("At most %(n)d characters.") % {"n": max_length}]}
        )
    return text
