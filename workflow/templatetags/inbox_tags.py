"""The inbox's count, for the menu: one query per page, that stops counting past
``workflow.inbox.COUNT_CAP`` (the badge then says "99+")."""

from django import template

from workflow.inbox import COUNT_CAP
from workflow.inbox import inbox_count as count_tasks

register = template.Library()


@register.simple_tag(takes_context=True)
def inbox_count(context):
    request = context.get("request")
    if request is None or not request.user.is_authenticated:
        return 0
    cached = getattr(request, "_inbox_count", None)
    if cached is None:
        cached = request._inbox_count = count_tasks(request.user)
    return cached


@register.filter
def capped(count):
    """The badge's figure: the count, or "99+" past the cap."""
    return f"{COUNT_CAP}+" if count > COUNT_CAP else str(count)


@register.simple_tag
def inbox_count_cap():
    return COUNT_CAP
