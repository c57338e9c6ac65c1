"""Template helpers for the language switch and right-to-left pages."""

import datetime
from decimal import Decimal

from django import template
from django.utils import formats
from django.utils.translation import gettext as _

from core import bidi
from core.money import format_amount, format_mad, format_mad_html

register = template.Library()


@register.simple_tag(takes_context=True)
def first_on_page(context, name: str) -> bool:
    """True the first time a page asks for ``name``: the language switch is in viewflow's
    page toolbar, and pages that still include it themselves do not show it twice."""
    # The bottom dict of a Context lives as long as the page's rendering and is shared by its
    # includes (render_context is not: an include gets its own).
    seen = context.dicts[0].setdefault("_tamkeen_first_on_page", set())
    if name in seen:
        return False
    seen.add(name)
    return True


@register.filter
def ltr(value):
    """Keep a reference, CIN, phone number, date or code left-to-right inside Arabic text
    (``<bdi dir="ltr">``, ``core.bidi.isolate_html``)."""
    return bidi.isolate_html(value)


@register.filter
def bdi(value):
    """A name or title from the database isolated, in its own direction (``<bdi>``)."""
    return bidi.isolate_name_html(value)


@register.filter
def ltr_text(value):
    """The plain-text form (Unicode isolates), for text e-mails and the PDFs."""
    return bidi.isolate_text(value)


@register.filter
def name_text(value):
    """A name or title isolated in its own direction, for text e-mails and the PDFs."""
    return bidi.isolate_name_text(value)


@register.filter
def item_number(number):
    """An ordinal or item number, "1.", kept whole in Arabic pages."""
    return bidi.item_number(number)


@register.simple_tag
def arrow(language=None):
    """The arrow of "from → to" in the reading direction (← in Arabic)."""
    return bidi.arrow(language)


@register.filter
def mad(amount, language=None):
    """A MAD amount in the one format of the (given or current) language, its digits
    isolated left-to-right: ``<bdi dir="ltr">150 000,00</bdi> MAD``."""
    return format_mad_html(amount, language)


@register.filter
def mad_text(amount, language=None):
    """The same amount as plain text (Unicode isolates): e-mails and the PDFs."""
    return format_mad(amount, language)


@register.filter
def shown(value, name=""):
    """A stored value as people read it, never as Python writes it: "—" for nothing or an
    empty list, lists joined, yes/no, dates in the page's format, amounts (a field whose
    name says amount, price, envelope or ceiling) with their currency, other numbers in the
    one number format; numbers and dates isolated left-to-right."""
    if value is None or value == "" or value == [] or value == () or value == {}:
        return "—"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, (list, tuple, set)):
        return ", ".join(str(item) for item in value)
    if isinstance(value, (datetime.date, datetime.datetime)):
        return bidi.isolate_html(formats.localize(value))
    if isinstance(value, (Decimal, float)):
        if any(word in str(name) for word in ("amount", "price", "envelope", "ceiling")):
            return format_mad_html(value)
        return bidi.isolate_html(format_amount(value))
    if isinstance(value, int):
        return bidi.isolate_html(value)
    return value
