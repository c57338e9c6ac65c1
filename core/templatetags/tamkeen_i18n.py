"""Template helpers for the language switch and right-to-left pages."""

from django import template

from core import bidi

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
