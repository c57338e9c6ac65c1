"""The inbox's count, for the menu (one COUNT query per page)."""

from django import template

from workflow.inbox import inbox_tasks

register = template.Library()


@register.simple_tag(takes_context=True)
def inbox_count(context):
    request = context.get("request")
    if request is None or not request.user.is_authenticated:
        return 0
    cached = getattr(request, "_inbox_count", None)
    if cached is None:
        cached = request._inbox_count = inbox_tasks(request.user).count()
    return cached
