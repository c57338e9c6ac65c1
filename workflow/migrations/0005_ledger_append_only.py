"""Append-only ledger tables, enforced by PostgreSQL itself.

Triggers raise on UPDATE, DELETE and TRUNCATE of the audit entries, their leaves,
checkpoints and signing keys, and a BEFORE INSERT trigger records the inserting
transaction id that the integrator needs. Only a superuser who disables triggers
(``session_replication_role = replica``) can bypass them, and the verifier then
detects what was changed. On SQLite the model layer's refusal is the guard.
"""

from django.db import migrations

LEDGER_TABLES = [
    "workflow_auditentry", "workflow_ledgerleaf", "workflow_checkpoint", "workflow_signingkey",
]

INSTALL = """
CREATE OR REPLACE FUNCTION tamkeen_ledger_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the audit ledger is append-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION tamkeen_ledger_stamp_xact() RETURNS trigger AS $$
BEGIN
    NEW.xact_id := pg_current_xact_id()::text::bigint;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER workflow_auditentry_stamp_xact BEFORE INSERT ON workflow_auditentry
    FOR EACH ROW EXECUTE FUNCTION tamkeen_ledger_stamp_xact();
"""

PER_TABLE = """
CREATE TRIGGER {table}_no_update_delete BEFORE UPDATE OR DELETE ON {table}
    FOR EACH ROW EXECUTE FUNCTION tamkeen_ledger_append_only();
CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}
    FOR EACH STATEMENT EXECUTE FUNCTION tamkeen_ledger_append_only();
"""

REMOVE = """
DROP TRIGGER IF EXISTS workflow_auditentry_stamp_xact ON workflow_auditentry;
{per_table}
DROP FUNCTION IF EXISTS tamkeen_ledger_append_only();
DROP FUNCTION IF EXISTS tamkeen_ledger_stamp_xact();
"""


def install(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(INSTALL, params=None)
    for table in LEDGER_TABLES:
        schema_editor.execute(PER_TABLE.format(table=table), params=None)


def remove(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    per_table = "\n".join(
        f"DROP TRIGGER IF EXISTS {t}_no_update_delete ON {t}; DROP TRIGGER IF EXISTS {t}_no_truncate ON {t};"
        for t in LEDGER_TABLES
    )
    schema_editor.execute(REMOVE.format(per_table=per_table), params=None)


class Migration(migrations.Migration):
    dependencies = [("workflow", "0004_grantflow_process")]
    operations = [migrations.RunPython(install, remove)]
