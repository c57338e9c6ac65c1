"""The roles of DESIGN.md §1 as groups with their permissions (core.roles)."""

from django.db import migrations

from core.roles import sync_roles_in_migration


class Migration(migrations.Migration):
    dependencies = [
        ("workflow", "0002_reference_data"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]
    operations = [migrations.RunPython(sync_roles_in_migration, migrations.RunPython.noop)]
