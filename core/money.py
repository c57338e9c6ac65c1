"""Dirham amounts as people read them (DOMAIN.md): 1.234.567,50 MAD / 1.234.567,50 د.م."""

from decimal import ROUND_HALF_UP, Decimal

from django.utils.translation import get_language

SYMBOLS = {"ar": "د.م.", "fr": "MAD", "en": "MAD"}


def format_mad(amount, language: str | None = None) -> str:
    if amount is None or amount == "":
        return ""
    language = (language or get_language() or "fr")[:2]
    value = Decimal(str(amount)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    sign = "-" if value < 0 else ""
    units, cents = f"{abs(value):.2f}".split(".")
    groups = []
    while units:
        groups.insert(0, units[-3:])
        units = units[:-3]
    separator, decimal_mark = (",", ".") if language == "en" else (".", ",")
    text = f"{sign}{separator.join(groups)}{decimal_mark}{cents}"
    return f"{text} {SYMBOLS.get(language, 'MAD')}"
