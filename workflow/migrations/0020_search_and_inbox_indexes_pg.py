"""PostgreSQL only: the indexes that the inbox and the searches need and that Django's
model options cannot say.

- Trigram indexes (``pg_trgm``, GIN) on the project's title and the beneficiary's four
  names, on ``UPPER(column::text)``: the expression Django's ``icontains`` compares on
  PostgreSQL, so that ``title__icontains`` is an index scan, not a scan of the table
  (``workflow.selectors.project_list``).
- The inbox's two lists on viewflow's task table (``workflow.inbox.inbox_segments``):
  the open tasks assigned to a person, and the open unassigned tasks by the permission
  they ask, each in the inbox's order (created, id). viewflow's app has no migration of
  ours, so they are created here, next to the inbox that reads them.

SQLite (the zero-setup default and the quick tests) has neither trigrams nor partial
indexes of this kind: there the migration does nothing.
"""

from django.db import migrations

OPEN = "status IN ('NEW', 'ASSIGNED')"

INDEXES = {
    "workflow_project_title_trgm": "workflow_grantproject USING gin (UPPER(title::text) gin_trgm_ops)",
    **{
        f"workflow_beneficiary_{column}_trgm": f"workflow_beneficiary USING gin (UPPER({column}::text) gin_trgm_ops)"
        for column in ("first_name", "last_name", "first_name_ar", "last_name_ar")
    },
    "viewflow_task_inbox_mine": f"viewflow_task (owner_id, created, id) WHERE {OPEN}",
    "viewflow_task_inbox_claimable": (
        f"viewflow_task (owner_permission, created, id) WHERE owner_id IS NULL AND {OPEN}"
    ),
}


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    # pg_trgm ships with PostgreSQL; creating it needs a role allowed to (docs: README).
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, target in INDEXES.items():
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {target}")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [
        ("workflow", "0019_project_list_indexes"),
        ("viewflow", "0015_task_scheduled"),
    ]

    operations = [
        migrations.RunPython(create, drop, elidable=False),
    ]
