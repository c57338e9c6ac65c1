from django import template

from core.money import format_mad, format_mad_html

register = template.Library()


@register.filter
def mad(amount, language=None):
    """A MAD amount in the given (or current) language's format, its digits isolated
    left-to-right (``core.money.format_mad_html``)."""
    return format_mad_html(amount, language)


@register.filter
def mad_text(amount, language=None):
    """The same amount as plain text (Unicode isolates): e-mails and the PDFs."""
    return format_mad(amount, language)
