"""Dirham amounts, one format per language, everywhere (pages, form hints, PDFs, e-mails):

- French  ``150 000,00 MAD`` — groups of three separated by a narrow no-break space (U+202F);
- Arabic  ``150 000,00 د.م.`` — the same digits (Western, as the Moroccan administration
  writes them), kept left-to-right in their own run, then the currency ``د.م.``;
- English ``150,000.00 MAD``.

``format_mad`` is the plain-text form (in Arabic the digits sit between Unicode isolates),
``format_mad_html`` the page and PDF form (digits in ``<bdi dir="ltr">``), ``format_amount``
the bare number (a form's example). CSV exports keep machine-readable decimals
(``60000.00``) and say so in their header.
"""

from decimal import ROUND_HALF_UP, Decimal

from django.utils.html import format_html
from django.utils.safestring import SafeString

from core.bidi import active_language, is_rtl, isolate_html, isolate_text
from core.input import amount_digits

SYMBOLS = {"ar": "د.م.", "fr": "MAD", "en": "MAD"}
NARROW_NBSP = "\u202f"
NBSP = "\u00a0"  # between the number and the currency: never split over two lines
# (grouping, decimal mark) per language.
SEPARATORS = {"en": (",", "."), "fr": (NARROW_NBSP, ","), "ar": (NARROW_NBSP, ",")}


def _language(language: str | None) -> str:
    return (language or active_language())[:2]


def format_amount(amount, language: str | None = None) -> str:
    """The number alone, two decimals, grouped as ``language`` writes it: ``52 500,00``."""
    if amount is None or amount == "":
        return ""
    language = _language(language)
    if isinstance(amount, str):  # as typed and stored in a payload: "70000,00", "52 500,00"
        amount = amount_digits(amount)
    value = Decimal(str(amount)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    sign = "-" if value < 0 else ""
    units, cents = f"{abs(value):.2f}".split(".")
    groups = []
    while units:
        groups.insert(0, units[-3:])
        units = units[:-3]
    grouping, decimal_mark = SEPARATORS.get(language, SEPARATORS["fr"])
    return f"{sign}{grouping.join(groups)}{decimal_mark}{cents}"


def amount_in_message(amount, language: str | None = None) -> str:
    """The number alone for a message whose catalog entry writes the currency itself
    ("... the ceiling of %(ceiling)s MAD." / "... %(ceiling)s د.م."), isolated in Arabic."""
    number = format_amount(amount, language)
    return isolate_text(number) if number and is_rtl(_language(language)) else number


def format_integer(value, language: str | None = None) -> str:
    """A count grouped like the amounts: ``1 234`` (French, Arabic), ``1,234`` (English)."""
    grouping, _mark = SEPARATORS.get(_language(language), SEPARATORS["fr"])
    return f"{int(value):,}".replace(",", grouping)


def decimal_mark(language: str | None = None) -> str:
    return SEPARATORS.get(_language(language), SEPARATORS["fr"])[1]


def currency(language: str | None = None) -> str:
    return SYMBOLS.get(_language(language), "MAD")


def format_mad(amount, language: str | None = None) -> str:
    """An amount with its currency, as plain text (e-mails, messages, task titles)."""
    number = format_amount(amount, language)
    if not number:
        return ""
    language = _language(language)
    if is_rtl(language):
        number = isolate_text(number)
    return f"{number}{NBSP}{currency(language)}"


def format_mad_html(amount, language: str | None = None) -> SafeString:
    """An amount with its currency for a page or a PDF: the digits in ``<bdi dir="ltr">``,
    the currency outside it, so ``د.م.`` reads right to left and keeps its dots."""
    number = format_amount(amount, language)
    if not number:
        return SafeString("")
    return format_html("{}{}{}", isolate_html(number), NBSP, currency(language))
