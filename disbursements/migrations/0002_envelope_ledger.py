"""The envelope ledger: append-only in PostgreSQL, and commitments for projects approved
before it existed.

Triggers raise on UPDATE, DELETE and TRUNCATE of envelope events (reusing the audit
ledger's function). Projects already approved (committed states, or suspended from one)
get their commitment event, attributed to whoever recorded the approval in the audit
ledger, so the derived totals start right.
"""

from django.db import migrations

COMMITTED_STATES = ("approved", "in_training", "trained", "funding", "equipped", "launched", "closed")

INSTALL = """
CREATE TRIGGER disbursements_envelopeevent_no_update_delete BEFORE UPDATE OR DELETE
    ON disbursements_envelopeevent FOR EACH ROW EXECUTE FUNCTION tamkeen_ledger_append_only();
CREATE TRIGGER disbursements_envelopeevent_no_truncate BEFORE TRUNCATE
    ON disbursements_envelopeevent FOR EACH STATEMENT EXECUTE FUNCTION tamkeen_ledger_append_only();
"""

REMOVE = """
DROP TRIGGER IF EXISTS disbursements_envelopeevent_no_update_delete ON disbursements_envelopeevent;
DROP TRIGGER IF EXISTS disbursements_envelopeevent_no_truncate ON disbursements_envelopeevent;
"""


def install(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(INSTALL, params=None)


def remove(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(REMOVE, params=None)


def backfill_commitments(apps, schema_editor):
    from django.db.models import Q

    GrantProject = apps.get_model("workflow", "GrantProject")
    AuditEntry = apps.get_model("workflow", "AuditEntry")
    EnvelopeEvent = apps.get_model("disbursements", "EnvelopeEvent")
    committed = GrantProject.objects.filter(
        Q(state__in=COMMITTED_STATES) | Q(state="suspended", state_before_suspension__in=COMMITTED_STATES),
        approved_amount__isnull=False,
    )
    for project in committed.iterator():
        approval = (
            AuditEntry.objects.filter(entity_type="workflow.grantproject", entity_id=str(project.pk),
                                      transition="decide_approve")
            .order_by("-seq").first()
        )
        actor_id = approval.actor_id if approval and approval.actor_id else project.created_by_id
        EnvelopeEvent.objects.get_or_create(
            idempotency_key=f"commit:project:{project.pk}",
            defaults={"program_id": project.program_id, "project_id": project.pk, "kind": "commit",
                      "amount": project.approved_amount, "actor_id": actor_id,
                      "note": "backfilled from the project's approval"},
        )


class Migration(migrations.Migration):
    dependencies = [("disbursements", "0001_initial"), ("workflow", "0005_ledger_append_only")]
    operations = [
        migrations.RunPython(install, remove),
        migrations.RunPython(backfill_commitments, migrations.RunPython.noop),
    ]
