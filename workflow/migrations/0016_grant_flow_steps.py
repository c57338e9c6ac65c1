"""The grant flow's waiting nodes became people's steps (workflow.engine).

Stored tasks name their node (``viewflow_task.flow_task``): the renamed nodes are
renamed in place, the open ones get the permission that puts them in the right
inbox, an eligible file waiting for the committee gets its "put on an agenda" step,
and each grant process records its file and program for the inbox's filters.
"""

from django.db import migrations

PREFIX = "workflow/flows.GrantFlow."
RENAMED = {
    "await_resubmission": "resubmission",
    "await_enrolment": "enrolment",
    "await_funding": "funding",
    "await_equipment": "procurement",
}
PERMISSIONS = {
    "resubmission": "workflow.submit_project",
    "agenda": "workflow.schedule_project",
    "enrolment": "workflow.enrol_project",
    "funding": "workflow.open_funding",
    "procurement": "disbursements.prepare_purchaseorder",
}
OPEN = ("NEW", "ASSIGNED")


def forwards(apps, schema_editor):
    Task = apps.get_model("viewflow", "Task")
    Process = apps.get_model("viewflow", "Process")
    GrantProject = apps.get_model("workflow", "GrantProject")
    for old, new in RENAMED.items():
        Task.objects.filter(flow_task=PREFIX + old).update(flow_task=PREFIX + new)
    waiting = Task.objects.filter(flow_task=PREFIX + "committee_decision", status__in=OPEN)
    for task in waiting.select_related("process"):
        state = GrantProject.objects.filter(pk=task.process.artifact_object_id).values_list("state", flat=True).first()
        if state == "eligible":
            task.flow_task = PREFIX + "agenda"
            task.save(update_fields=["flow_task"])
    for node, permission in PERMISSIONS.items():
        Task.objects.filter(flow_task=PREFIX + node, status__in=OPEN, owner__isnull=True).update(
            owner_permission=permission, status="NEW")
    projects = dict(GrantProject.objects.values_list("pk", "program_id"))
    for process in Process.objects.filter(flow_class="workflow/flows.GrantFlow"):
        program_id = projects.get(process.artifact_object_id)
        if program_id is not None:
            process.data = {**(process.data or {}), "project_id": process.artifact_object_id,
                            "program_id": program_id}
            process.save(update_fields=["data"])


class Migration(migrations.Migration):
    dependencies = [
        ("workflow", "0015_program_audit_chain"),
        ("viewflow", "0015_task_scheduled"),
    ]

    # Backwards leaves the tasks as they are: the new names are what the code before
    # this migration cannot run anyway, and rows are never rewritten on the way back.
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
