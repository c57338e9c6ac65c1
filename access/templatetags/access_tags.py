from django import template

from core.roles import Role

register = template.Library()


@register.filter
def role_label(value):
    """A role's name for people, in the reader's language (the group name otherwise)."""
    return Role(value).label if value in Role.values else value
