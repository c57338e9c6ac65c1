"""Give administrators the reset of another person's second factor (core.roles is the
single table). After every app's latest migration, so that applying the table keeps
their permissions too."""

from django.db import migrations

from core.roles import sync_roles_in_migration


class Migration(migrations.Migration):
    dependencies = [
        ("twofactor", "0001_initial"),
        ("core", "0001_initial"),
        ("ledger", "0002_trust_outside_the_database"),
        ("workflow", "0016_grant_flow_steps"),
        ("approvals", "0005_member_dates"),
        ("disbursements", "0003_roles"),
        ("training", "0001_initial"),
        ("followup", "0001_initial"),
        ("notifications", "0002_ledger_notifications"),
    ]
    operations = [migrations.RunPython(sync_roles_in_migration, migrations.RunPython.noop)]
