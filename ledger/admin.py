"""Admin of the audit ledger: read-only inspection. The ledger admin grants no add,
change or delete permission and no action; entries are written only by the audited
services."""

from django.contrib import admin

from core.admin import ReadOnlyModelAdmin
from ledger.models import AuditEntry


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyModelAdmin):
    list_display = ("entity_type", "entity_id", "seq", "transition", "from_state", "to_state",
                    "actor", "actor_role", "created_at")
    list_filter = ("entity_type", "transition", "actor_role")
    search_fields = ("entity_id", "request_id")
    actions = None

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]
