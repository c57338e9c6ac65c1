"""Admin of the workflow app: configuration and read-only inspection.

Reference data is configured here. Programs, beneficiaries, projects and documents are
written only by the audited services, so their admins only read (a program's settings
are changed on its page, ``/programs/<id>/``). The apps above add their parts to these
pages from their own ``admin.py`` (the program's time limits come from
``notifications.admin``, and stay editable here).
"""

from django.contrib import admin

from core.admin import ReadOnlyModelAdmin

# Importing the flow registers its process model and connects it to the project
# lifecycle in every process that loads the admin (web, workers, commands).
from workflow import flows  # noqa: F401
from workflow.models import ActivitySector, Beneficiary, Commune, Document, GrantProject, Program


@admin.register(Program)
class ProgramAdmin(admin.ModelAdmin):
    """A program's settings are read here and changed through ``program_create`` and
    ``program_update`` (each change signed on its audit chain). The page stays
    savable for what other apps add to it (their inlines), never for the program."""

    list_display = ("code", "name", "year", "envelope", "project_ceiling", "is_active")
    list_filter = ("year", "is_active")
    search_fields = ("code", "name")

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in Program._meta.fields]

    def save_model(self, request, obj, form, change):
        """Nothing of the program is saved here: a plain save would change it without
        an audit entry, and could write back a stale chain head."""


@admin.register(Commune)
class CommuneAdmin(admin.ModelAdmin):
    list_display = ("code", "name_fr", "name_ar", "province", "kind", "active")
    list_filter = ("province", "kind", "active")
    search_fields = ("code", "name_fr", "name_ar")


@admin.register(ActivitySector)
class ActivitySectorAdmin(admin.ModelAdmin):
    list_display = ("code", "name_fr", "name_ar", "name_en", "active")
    list_filter = ("active",)
    search_fields = ("code", "name_fr", "name_ar", "name_en")


@admin.register(Beneficiary)
class BeneficiaryAdmin(ReadOnlyModelAdmin):
    """Beneficiaries are registered through beneficiary_create; the admin only reads."""

    list_display = ("last_name", "first_name", "commune", "gender", "created_at")
    list_filter = ("commune", "gender", "is_woman_in_difficulty")
    search_fields = ("last_name", "first_name", "last_name_ar", "first_name_ar")

    def get_exclude(self, request, obj=None):
        # CIN and disability details only for those allowed to see them (law 09-08).
        if request.user.has_perm("workflow.view_sensitive_beneficiary"):
            return ()
        return ("cin", "has_disability", "disability_proof")


class DocumentInline(admin.TabularInline):
    model = Document
    extra = 0
    can_delete = False
    fields = ("doc_type", "original_name", "size", "sha256", "uploaded_by", "uploaded_at")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False  # documents are attached through document_attach (fingerprinting)


@admin.register(GrantProject)
class GrantProjectAdmin(ReadOnlyModelAdmin):
    """Projects are opened, edited and moved only through the audited services."""

    list_display = ("__str__", "program", "beneficiary", "state", "requested_amount", "approved_amount")
    list_filter = ("state", "program")
    search_fields = ("title", "beneficiary__last_name", "beneficiary__first_name")
    inlines = [DocumentInline]
