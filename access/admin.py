"""The admin's user pages: administration apart from operations.

An administrator adds people and edits their names, e-mail, active flag and password
here; it cannot make anyone a superuser or staff, nor touch groups or permissions:
roles change on the people's pages (``/people/``) through the audited services of
``access.services``, and superusers only at the server (``manage.py create_user``).
"""

from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group, User
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from access.models import Account, RoleRequest
from core.admin import ReadOnlyModelAdmin

# What the admin never writes on a user, whoever is logged in (a superuser included:
# superusers are made at the server, where the act is signed).
LOCKED_FIELDS = ("is_superuser", "is_staff", "groups", "user_permissions", "last_login", "date_joined")

admin.site.unregister(User)
admin.site.unregister(Group)


@admin.register(User)
class TamkeenUserAdmin(UserAdmin):
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        (_("Personal info"), {"fields": ("first_name", "last_name", "email")}),
        (_("Access"), {"fields": ("is_active", "roles_link", *LOCKED_FIELDS)}),
    )
    list_display = ("username", "first_name", "last_name", "email", "is_active", "is_staff")
    list_filter = ("is_active", "groups")

    def get_readonly_fields(self, request, obj=None):
        return (*LOCKED_FIELDS, "roles_link")

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return self.add_fieldsets
        return self.fieldsets

    @admin.display(description=_("Roles"))
    def roles_link(self, obj):
        roles = ", ".join(g.name for g in obj.groups.all()) or "—"
        return format_html('{} — <a href="{}">{}</a>', roles, reverse("people:detail", args=[obj.pk]),
                           _("change on the person's page"))

    def save_model(self, request, obj, form, change):
        # Whatever the form posted, the locked fields keep their stored values.
        if change:
            stored = User.objects.get(pk=obj.pk)
            obj.is_superuser, obj.is_staff = stored.is_superuser, stored.is_staff
        else:
            obj.is_superuser = obj.is_staff = False
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        # Groups and permissions are not fields of this form: nothing to save for them.
        form.cleaned_data.pop("groups", None)
        form.cleaned_data.pop("user_permissions", None)
        super().save_related(request, form, formsets, change)


@admin.register(Group)
class ReadOnlyGroupAdmin(GroupAdmin, ReadOnlyModelAdmin):
    """Role groups and their permissions come from ``core.roles`` (``manage.py sync_roles``)."""


@admin.register(Account)
class AccountAdmin(ReadOnlyModelAdmin):
    list_display = ("user", "state", "audit_seq", "created_at")
    search_fields = ("user__username", "user__first_name", "user__last_name")


@admin.register(RoleRequest)
class RoleRequestAdmin(ReadOnlyModelAdmin):
    list_display = ("account", "role", "status", "requested_by", "requested_at", "decided_by", "decided_at")
    list_filter = ("status", "role")
