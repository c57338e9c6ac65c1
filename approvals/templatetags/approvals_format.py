from django import template

from core.money import format_mad

register = template.Library()


@register.filter
def mad(amount, language=None):
    """A MAD amount in the given (or current) language's format."""
    return format_mad(amount, language)
