"""Template helpers for the language switch and right-to-left pages."""

from django import template
from django.utils.html import format_html

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
    """Keep a reference, CIN, phone number or amount left-to-right inside Arabic text."""
    if value is None or value == "":
        return ""
    return format_html('<bdi dir="ltr">{}</bdi>', value)
