"""For migrations that give an audited model its chain-head columns: copy the head of
each existing chain (last sequence number and entry hash) from the ledger."""


def chain_head_backfill(app_label, model_name):
    def backfill(apps, schema_editor):
        AuditEntry = apps.get_model("workflow", "AuditEntry")
        Model = apps.get_model(app_label, model_name)
        entity_type = f"{app_label}.{model_name.lower()}"
        heads = {}
        for entity_id, seq, digest in (
            AuditEntry.objects.filter(entity_type=entity_type).order_by("entity_id", "seq")
            .values_list("entity_id", "seq", "entry_hash").iterator()
        ):
            heads[entity_id] = (seq, digest)
        for entity_id, (seq, digest) in heads.items():
            Model.objects.filter(pk=entity_id).update(audit_seq=seq, audit_head=digest)

    return backfill
