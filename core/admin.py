"""What the apps' admins share."""

from django.contrib import admin


class ReadOnlyModelAdmin(admin.ModelAdmin):
    """The admin of rows written only by the services (the audit ledger, beneficiaries,
    projects): it reads, and never adds, changes or deletes."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
