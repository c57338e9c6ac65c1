"""Mixed-direction text: one helper keeps numbers, amounts, dates, references, CINs, phone
numbers, codes, e-mail addresses and Latin-script names in their own left-to-right run
inside text that may be Arabic (STYLE.md 15).

Three forms of the same isolation:

- ``isolate_html`` for pages: ``<bdi dir="ltr">VIR-2026-12-0042</bdi>``;
- ``isolate_text`` for plain text (e-mails, CSV headers, task titles) **and the PDFs**: the
  Unicode isolates LRI (U+2066) … PDI (U+2069). WeasyPrint (70) lays each inline box out in
  the paragraph's logical order without reordering boxes by their ``dir``, so a ``<bdi>`` or
  ``<span dir="ltr">`` inside an Arabic paragraph lands at the wrong end of it; the
  isolates, inside the text, go through Pango's (FriBidi's) bidi algorithm and land right;
- ``arrow`` for "from → to": it points the way the page reads (← in Arabic).

Template forms: ``|ltr``, ``|ltr_text``, ``{% arrow %}`` and ``|item_number`` in
``core/templatetags/tamkeen_i18n.py``.
"""

import datetime
from decimal import Decimal

from django.utils.formats import localize
from django.utils.functional import lazy
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.timezone import template_localtime
from django.utils.translation import get_language, get_language_bidi, override

LRI = "\u2066"  # LEFT-TO-RIGHT ISOLATE
FSI = "\u2068"  # FIRST STRONG ISOLATE: the direction of the value's first letter
PDI = "\u2069"  # POP DIRECTIONAL ISOLATE


def _empty(value) -> bool:
    return value is None or value == ""


def _as_text(value):
    """What ``{{ value }}`` would print: a date or time in local time and the page's
    format, a number with the page's decimal mark (never ``2026-12-05 00:59:58+00:00``)."""
    if isinstance(value, (datetime.date, datetime.time, Decimal, float)):
        return localize(template_localtime(value))
    return value


def isolate_html(value) -> SafeString:
    """``value`` (escaped) in its own left-to-right run of an HTML page or PDF."""
    if _empty(value):
        return SafeString("")
    return format_html('<bdi dir="ltr">{}</bdi>', _as_text(value))


def isolate_name_html(value) -> SafeString:
    """A name or title from the database (Latin or Arabic script) isolated from the text
    around it, its own first letter deciding its direction (``<bdi>``)."""
    if _empty(value):
        return SafeString("")
    return format_html("<bdi>{}</bdi>", value)


def isolate_text(value) -> str:
    """``value`` between LRI and PDI, for plain text (e-mails, CSV headers)."""
    if _empty(value):
        return ""
    return f"{LRI}{_as_text(value)}{PDI}"


def isolate_text_if_rtl(value, language: str | None = None) -> str:
    """``isolate_text`` on a right-to-left page, the value alone otherwise (a CSV header a
    spreadsheet formula may name stays plain in French and English)."""
    return isolate_text(value) if is_rtl(language) else ("" if _empty(value) else str(value))


def isolate_name_text(value) -> str:
    """A name or title (Latin or Arabic script) between FSI and PDI, for plain text and
    PDFs: its first letter decides its direction, the text around it keeps its order."""
    if _empty(value):
        return ""
    return f"{FSI}{value}{PDI}"


def is_rtl(language: str | None = None) -> bool:
    """True if ``language`` (by default the active one) is written right to left."""
    if language is None:
        return get_language_bidi()
    with override(language):
        return get_language_bidi()


def arrow(language: str | None = None) -> str:
    """The arrow of "from → to" in the reading direction: ← in Arabic, → otherwise."""
    return "←" if is_rtl(language) else "→"


def item_number(number) -> SafeString:
    """An ordinal or item number ("1.") kept whole, the dot after the digits, in any page."""
    if _empty(number):
        return SafeString("")
    return isolate_html(f"{number}.")


def active_language() -> str:
    return (get_language() or "fr")[:2]


def isolated_hint(template, **values):
    """A lazy help text whose ``%(name)s`` values (strings, or callables run at rendering,
    in the reader's language) are isolated left-to-right: "e.g. ⁨52 500,00⁩" in a form."""

    def render() -> SafeString:
        isolated = {
            name: isolate_html(value() if callable(value) else value) for name, value in values.items()
        }
        return mark_safe(conditional_escape(str(template)) % isolated)  # noqa: S308 - escaped above

    return lazy(render, str)()
