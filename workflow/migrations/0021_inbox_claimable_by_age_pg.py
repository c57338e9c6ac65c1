"""PostgreSQL only: the open unassigned tasks in the inbox's order (created, id).

The inbox's "claimable by my roles" list asks for ``owner_permission IN (my many
permissions)``: PostgreSQL reads it in order from an index on the creation date and
filters each task, which is fast while the oldest tasks are open ones, but at a national
scale the oldest tasks are the finished history, read and thrown away on every page.
This partial index holds only open unassigned tasks, so that walk starts at the oldest
open one (``viewflow_task_inbox_claimable`` serves a single permission).
"""

from django.db import migrations

NAME = "viewflow_task_inbox_claimable_by_age"
TARGET = "viewflow_task (created, id) WHERE owner_id IS NULL AND status IN ('NEW', 'ASSIGNED')"


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {NAME} ON {TARGET}")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {NAME}")


class Migration(migrations.Migration):
    dependencies = [("workflow", "0020_search_and_inbox_indexes_pg")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
