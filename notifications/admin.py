"""Admin of notifications: the notifications themselves (read-only) and each program's
own time limits, shown as an inline on workflow's program page."""

from django.contrib import admin

from notifications.models import Notification, StepDeadline
from workflow import admin as workflow_admin
from workflow.models import Program


class StepDeadlineInline(admin.TabularInline):
    """A program's own time limits, read only: they change on the program's page
    (``program_deadline_set``, signed on its chain). A step without a row keeps the
    default limits (notifications.models.DEFAULT_DEADLINES)."""

    model = StepDeadline
    extra = 0

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# workflow registers the program page; the time limits are this app's part of it.
admin.site.unregister(Program)


@admin.register(Program)
class ProgramAdmin(workflow_admin.ProgramAdmin):
    inlines = [*workflow_admin.ProgramAdmin.inlines, StepDeadlineInline]


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    """Read-only: notifications are written by the services and the deadline tick."""

    list_display = ("created_at", "recipient", "kind", "subject", "read_at", "emailed_at")
    list_filter = ("kind", "created_at")
    search_fields = ("subject", "dedupe_key", "recipient__username")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
