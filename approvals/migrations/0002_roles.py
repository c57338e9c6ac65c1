"""Give the roles their committee permissions (core.roles is the single table)."""

from django.db import migrations

from core.roles import sync_roles_in_migration


class Migration(migrations.Migration):
    dependencies = [("approvals", "0001_initial"), ("workflow", "0005_ledger_append_only")]
    operations = [migrations.RunPython(sync_roles_in_migration, migrations.RunPython.noop)]
