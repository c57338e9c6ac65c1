"""Give administrators the sign-in throttle's lists and its unlock (core.roles is the
single table): its permissions exist once django-axes' tables do."""

from django.db import migrations

from core.roles import sync_roles_in_migration


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial"), ("axes", "0010_accessattemptexpiration")]
    operations = [migrations.RunPython(sync_roles_in_migration, migrations.RunPython.noop)]
