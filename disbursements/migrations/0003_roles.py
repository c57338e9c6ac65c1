"""Give the roles their funding permissions (core.roles is the single table)."""

from django.db import migrations

from core.roles import sync_roles_in_migration


class Migration(migrations.Migration):
    dependencies = [("disbursements", "0002_envelope_ledger"), ("approvals", "0002_roles")]
    operations = [migrations.RunPython(sync_roles_in_migration, migrations.RunPython.noop)]
