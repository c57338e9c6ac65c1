from ledger.models import AuditEntry


def test_a_project_reaches_closed_with_one_audit_entry_per_transition(make_project):
    project = make_project("closed")
    assert project.state == "closed"
    transitions = list(AuditEntry.objects.for_entity(project).values_list("transition", flat=True))
    assert transitions == [
        "create", "attach_document", "attach_document", "attach_document",  # the required documents
        "submit", "screen_ok", "schedule", "decide_approve", "enrol",
        "complete_training", "open_funding", "equipment_received", "launch", "close",
    ]
