"""The app split moves data without losing any.

Training, follow-up, notifications, the audit ledger and the user's preferences left the
workflow app for apps of their own. Their tables kept their names (``Meta.db_table``;
``SeparateDatabaseAndState`` moves the migration state only) and their content types
were renamed in place (``core.moved_models``), so permissions, groups, users' own
permissions and the admin's history follow. viewflow stores flow and task names
(``workflow/flows.GrantFlow.<node>``): the flow stayed in ``workflow/flows.py``, so they
stay valid as stored.

The test builds a database as it was before the split: it creates the data through the
services at the latest state, signs a checkpoint, then migrates back to the last
migrations before the split (where the moved models are ``workflow`` models again),
checks that this really is the old layout, adds rows there through the historical
models, and migrates forward with ``manage.py migrate``. Every row must still be there,
unchanged, every right must still be held, and the ledger must still verify. The
database is left at the latest migrations, whatever happens.

A rollback with ``manage.py migrate`` leaves content types under the new labels behind:
viewflow's post_migrate handler creates them for the live models. Migrating forward
again merges them into the moved ones (``claim_content_types``); the test rolls back the
same way to check it.
"""

import contextlib
import io
from datetime import UTC, date, datetime
from datetime import time as clock

import pytest
from django.apps import apps as live_apps
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth.models import Group, Permission, User
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone
from viewflow.workflow.fields import import_flow_by_ref, import_task_by_ref

from core.models import UserPreference
from core.roles import ROLE_PERMISSIONS, Role
from demo.scenarios import STABLE_VISIT
from followup import services as followup_services
from followup.models import FollowUpVisit
from ledger import machines
from ledger.machines import definitions, live_states
from ledger.models import entity_type_of
from ledger.tamkeen_verify import CheckpointRecord, EntryRecord, PublicKey, verify_ledger, with_windows
from notifications.models import NotificationKind, StepDeadline
from notifications.services import notify, preferences_update
from tests._audit_support import integrate_settled  # noqa: F401 - fixture
from training import services as training_services
from training.models import TrainingModule, TrainingSession
from workflow.engine import registered_flows
from workflow.flows import GrantFlow

# The models that left the workflow app, by the app that took them over.
MOVED = {
    "core": ("userpreference",),
    "ledger": ("auditentry", "ledgerleaf", "checkpoint", "signingkey", "integratorstate"),
    "training": ("trainingmodule", "programmodule", "trainingsession", "attendancerecord"),
    "followup": ("followupplan", "followupvisit", "visitreport", "equipmentrecovery"),
    "notifications": ("stepdeadline", "notification", "emailpreference"),
}
NEW_APP = {model: app for app, models in MOVED.items() for model in models}

# The last migration of each app before the split; the new apps had none.
PRE_SPLIT = [
    ("workflow", "0013_project_field_labels"),
    ("approvals", "0004_confirmed_tally"),
    ("disbursements", "0003_roles"),
    *[(app, None) for app in MOVED],
]
SPLIT = [("workflow", "0014_apps_split"), *[(app, "0001_initial") for app in MOVED]]

PAST = date(2025, 3, 10)
REMINDER_PARAMS = {
    "step": "screening", "reference": "AGR-0001", "since": datetime(2025, 3, 10, 9, tzinfo=UTC).isoformat(),
    "days": 3, "remind_days": 1, "escalate_days": 9,
}


# --- Reading the database as it is, whatever the layout -----------------------------------


def sql(query, params=()):
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return cursor.fetchall()


def plain(value):
    return bytes(value) if isinstance(value, memoryview) else value


# Columns later migrations added to moved tables (ledger 0002, core 0003, notifications
# 0003, followup 0003-0004): not there before the split.
ADDED_AFTER_THE_SPLIT = {"checkpoint": {"consistency"}, "signingkey": {"certificate"},
                         "userpreference": {"last_used_language"}, "notification": {"template", "params"},
                         "followupplan": {"latest_report_id", "latest_at_risk", "latest_visited_on"}}


def table_rows() -> dict:
    """Every row of every moved table, whole (the columns the split knew), by primary key."""
    qn = connection.ops.quote_name
    result = {}
    for model in NEW_APP:
        pk = "index" if model == "ledgerleaf" else "id"
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT * FROM {qn('workflow_' + model)} ORDER BY {qn(pk)}")
            names = [column[0] for column in cursor.description]
            keep = [i for i, name in enumerate(names) if name not in ADDED_AFTER_THE_SPLIT.get(model, set())]
            result[model] = [tuple(plain(row[i]) for i in keep) for row in cursor.fetchall()]
    return result


def moved_content_types() -> list:
    """(id, app_label, model) of every content type named like a moved model, any app."""
    placeholders = ", ".join(["%s"] * len(NEW_APP))
    return sql(
        f"SELECT id, app_label, model FROM django_content_type WHERE model IN ({placeholders}) ORDER BY id",
        list(NEW_APP),
    )


def group_permissions() -> dict:
    """{group name: {(permission id, "app_label.codename")}}, resolved through the content types."""
    result = {name: set() for (name,) in sql("SELECT name FROM auth_group")}
    for name, pk, label, codename in sql(
        "SELECT g.name, p.id, ct.app_label, p.codename FROM auth_group g "
        "JOIN auth_group_permissions gp ON gp.group_id = g.id "
        "JOIN auth_permission p ON p.id = gp.permission_id "
        "JOIN django_content_type ct ON ct.id = p.content_type_id"
    ):
        result[name].add((pk, f"{label}.{codename}"))
    return result


def user_permissions() -> set:
    return set(sql(
        "SELECT u.username, p.id, ct.app_label || '.' || p.codename FROM auth_user u "
        "JOIN auth_user_user_permissions up ON up.user_id = u.id "
        "JOIN auth_permission p ON p.id = up.permission_id "
        "JOIN django_content_type ct ON ct.id = p.content_type_id"
    ))


def snapshot() -> dict:
    return {
        "rows": table_rows(),
        "content_types": moved_content_types(),
        "groups": {name: {pk for pk, _label in perms} for name, perms in group_permissions().items()},
        "user_permissions": {(user, pk) for user, pk, _label in user_permissions()},
        "permissions": sql("SELECT id, content_type_id, codename FROM auth_permission ORDER BY id"),
        "log_entries": sql("SELECT id, content_type_id, object_id FROM django_admin_log ORDER BY id"),
        "processes": sql(
            "SELECT id, flow_class, status, artifact_content_type_id, artifact_object_id "
            "FROM viewflow_process ORDER BY id"
        ),
        "tasks": sql(
            "SELECT id, process_id, flow_task, status, owner_permission, owner_permission_content_type_id, "
            "artifact_content_type_id FROM viewflow_task ORDER BY id"
        ),
    }


def db_shape(model) -> tuple:
    """The parts of a model the database holds: its table, its columns with their type,
    nullability, uniqueness, index and target table, and its indexes and constraints."""
    opts = model._meta
    columns = {
        f.column: (f.db_type(connection), f.null, f.unique, f.db_index,
                   f.related_model._meta.db_table if f.is_relation else None)
        for f in opts.local_concrete_fields
    }

    def by_name(items):
        return sorted((item.deconstruct() for item in items), key=lambda parts: parts[2]["name"])

    return opts.db_table, columns, by_name(opts.indexes), by_name(opts.constraints)


def in_old_layout(label: str) -> str:
    """"training.view_trainingsession" as it was named before the split."""
    app, codename = label.split(".")
    return f"workflow.{codename}" if app in MOVED else label


def applied() -> set:
    return set(MigrationExecutor(connection).loader.applied_migrations)


def verify_with(apps, app_label: str, states: dict | None = None):
    """Verify the ledger read through ``apps`` (the historical models of a migration state):
    every hash, chain link, signature, checkpoint and state replay, against the states of
    the audited rows as that state's models read them (the entity type names the model
    before the split), or against ``states``."""
    entries = apps.get_model(app_label, "AuditEntry").objects.order_by("id").values_list(
        "canonical", "entry_hash", "key_id", "signature", "leaf__index"
    )
    records = [
        EntryRecord(canonical=bytes(canonical), hash=digest, key_id=key_id, signature=bytes(signature), index=index)
        for canonical, digest, key_id, signature, index in entries
    ]
    checkpoints = [
        CheckpointRecord(bytes(c.canonical), c.key_id, bytes(c.signature))
        for c in apps.get_model(app_label, "Checkpoint").objects.order_by("size", "created_at", "id")
    ]
    machines = definitions()
    stripped = states is None
    if states is None:
        # Each row's state and the chain head it keeps, as that state's models read them.
        # The audited fields the live models fold are left to the check after the split
        # (``live_states``): these machines are compared without their fold.
        machines = {entity_type: {**machine, "fold": []} for entity_type, machine in machines.items()}
        states = {
            entity_type: {
                str(pk): {"state": state, "seq": seq, "head": head}
                for pk, state, seq, head in apps.get_model(entity_type).objects.values_list(
                    "pk", "state", "audit_seq", "audit_head")
            }
            for entity_type in machines
            # Programs were audited later (their ``status``, workflow 0015): no chain here.
            if any(field.name == "state" for field in apps.get_model(entity_type)._meta.fields)
        }
    # The public keys are read through the same state's model (the table is the same
    # table; its certificates came later, ledger 0002).
    keys = [
        PublicKey(key.key_id, key.purpose, key.public_key, key.valid_from, key.valid_until,
                  getattr(key, "certificate", None))
        for key in apps.get_model(app_label, "SigningKey").objects.all()
    ]
    report = verify_ledger(records, checkpoints, with_windows(keys), machines, states, check_signatures=True)
    if stripped:  # the checkpoints sign the machines with their folds
        report.problems = [p for p in report.problems if p.code != "definitions_mismatch"]
    return report


@contextlib.contextmanager
def programs_not_audited():
    """Programs are audited from workflow 0015 on, after the split: in the old layout
    their table has no ``status`` column (and no program has a chain), so the live
    verifier, which reads the live models, leaves them out there."""
    spec = machines._REGISTRY.pop("workflow.program")
    try:
        yield
    finally:
        machines._REGISTRY["workflow.program"] = spec


def audit_verify() -> str:
    out = io.StringIO()
    call_command("audit", "verify", "--full", "--no-progress", stdout=out)
    return out.getvalue()


# --- Fixtures -----------------------------------------------------------------------------


@pytest.fixture
def back_at_latest(transactional_db):
    """Whatever the test does to the schema, later tests find the latest migrations."""
    yield
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
    ContentType.objects.clear_cache()


@pytest.fixture
def world(reference_data, back_at_latest, cast, make_project, make_user, program):  # noqa: F811
    """A program's life in every moved model, created through the services, with a signed
    checkpoint over the ledger."""
    for code in ("project-management", "marketing"):
        TrainingModule.objects.get_or_create(code=code, defaults={"name_fr": code, "name_ar": code, "name_en": code})
    training_services.program_module_set(
        actor=cast.officer, program_id=program.pk, module="marketing", planned_hours="6", mandatory=False,
    )
    trainer = make_user(Role.TRAINER, username="trainer")
    admin = make_user(Role.ADMIN, username="administrator")

    launched = make_project("launched")
    make_project("closed")
    in_training = make_project("in_training")
    make_project("submitted")
    make_project("withdrawn")
    abandoned = make_project("launched")
    followup_services.project_close(
        project_id=abandoned.pk, actor=cast.officer, outcome="abandoned", reason="The beneficiary moved away.",
        recovery={"items": "Two sewing machines", "value": "8000.00", "note": "Stored at the association."},
    )

    first_visit = FollowUpVisit.objects.filter(project=launched).order_by("sequence").first()
    followup_services.visit_report(
        visit_id=first_visit.pk, actor=cast.mentor, visited_on=timezone.localdate(), **STABLE_VISIT
    )
    session = training_services.training_session_create(
        actor=cast.officer, program_id=program.pk, module="marketing", trainer=trainer,
        date=PAST, start_time=clock(9, 30), hours="3", place="Maison des associations, Nador",
    )
    training_services.training_record_attendance(
        session_id=session.pk, actor=trainer, attendance={in_training.pk: True},
    )

    StepDeadline.objects.create(program=program, step="screening", remind_after_days=1, escalate_after_days=4)
    preferences_update(actor=cast.mentor, language="ar", email_kinds=[NotificationKind.VISIT_DUE])
    notify(
        recipient=cast.officer, kind=NotificationKind.REMINDER, template="deadline_reminder",
        link="/projects/1/", dedupe_key="split:reminder", params=REMINDER_PARAMS,
    )

    # A group and a user holding moved models' permissions outside the role table.
    inspectors = Group.objects.create(name="regional_inspectors")
    inspectors.permissions.set(Permission.objects.filter(
        content_type__app_label__in=list(MOVED), codename__in=["view_auditentry", "verify_ledger", "view_followupvisit",
                                                                 "assign_trainer", "view_stepdeadline"],
    ))
    cast.agent.user_permissions.add(Permission.objects.get(content_type__app_label="training",
                                                            codename="view_trainingsession"))
    # The admin's history of moved models.
    for obj in (first_visit, session):
        LogEntry.objects.create(
            user=admin, content_type=ContentType.objects.get_for_model(obj), object_id=str(obj.pk),
            object_repr=str(obj)[:200], action_flag=CHANGE, change_message="[]",
        )

    result = integrate_settled(force_checkpoint=True)
    assert result.checkpoint is not None
    return {"launched": launched, "visit": first_visit, "session": session, "cast": cast}


# --- The test -----------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_database_migrated_before_the_split_migrates_after_it_without_losing_anything(world):
    cast = world["cast"]
    report = audit_verify()
    assert "ledger intact" in report
    entries = sql("SELECT COUNT(*) FROM workflow_auditentry")[0][0]
    assert f"entries: {entries} " in report
    entity_types = {t for (t,) in sql("SELECT DISTINCT entity_type FROM workflow_auditentry")}
    assert "workflow.followupvisit" in entity_types
    assert sql("SELECT COUNT(*) FROM workflow_checkpoint")[0][0] >= 1
    latest = snapshot()
    for model, rows in latest["rows"].items():
        assert rows, f"no {model} rows to move"

    # --- Back to the layout before the split ----------------------------------------------
    executor = MigrationExecutor(connection)
    # The moved models as the split made them (later migrations added to some of them).
    split_apps = executor.loader.project_state(SPLIT).apps
    old_state = executor.migrate(PRE_SPLIT)
    ContentType.objects.clear_cache()
    assert not applied() & set(SPLIT)
    assert set(PRE_SPLIT[:3]) <= applied()
    old = old_state.apps
    for model, app in NEW_APP.items():
        with pytest.raises(LookupError):
            old.get_model(app, model)
        # What the database holds of the model is what the moved model describes.
        assert db_shape(old.get_model("workflow", model)) == db_shape(split_apps.get_model(app, model)), model

    old_layout = snapshot()
    # The old layout really is old: the content types are workflow's again, same ids...
    assert {(pk, model) for pk, _app, model in latest["content_types"]} == {
        (pk, model) for pk, _app, model in old_layout["content_types"]
    }
    assert {app for _pk, app, _model in old_layout["content_types"]} == {"workflow"}
    # ...and each role's permissions resolve under workflow, as the role table named them then.
    groups = group_permissions()
    for role, perms in ROLE_PERMISSIONS.items():
        assert {label for _pk, label in groups[role.value]} == {in_old_layout(p) for p in perms}, role
    assert {label for _pk, label in groups["regional_inspectors"]} == {
        "workflow.view_auditentry", "workflow.verify_ledger", "workflow.view_followupvisit",
        "workflow.assign_trainer", "workflow.view_stepdeadline",
    }
    assert (cast.agent.username, "workflow.view_trainingsession") in {
        (user, label) for user, _pk, label in user_permissions()
    }
    # Nothing moved on disk: every row of every table, and the rights, as they were.
    assert {k: v for k, v in old_layout.items() if k != "content_types"} == {
        k: v for k, v in latest.items() if k != "content_types"
    }

    # The ledger verifies in the old layout: read through the old state's models
    # (workflow.AuditEntry...), and by the live verifier, which reads the same tables.
    old_report = verify_with(old, "workflow")
    assert old_report.ok, old_report.problems[:3]
    assert (old_report.entries, old_report.signatures_checked) == (entries, entries)
    # Rows added in the old layout, through the old state's models.
    OldPermission = old.get_model("auth", "Permission")
    OldContentType = old.get_model("contenttypes", "ContentType")
    program_id = world["launched"].program_id
    preference = old.get_model("workflow", "UserPreference").objects.create(user_id=cast.finance.pk, language="fr")
    old.get_model("workflow", "EmailPreference").objects.create(user_id=cast.agent.pk, kind="at_risk", by_email=False)
    old.get_model("workflow", "StepDeadline").objects.create(
        program_id=program_id, step="training", remind_after_days=10, escalate_after_days=20,
    )
    notification = old.get_model("workflow", "Notification").objects.create(
        recipient_id=cast.agent.pk, kind="reminder", subject="Old layout", body="Written before the split.",
        dedupe_key="split:old-layout",
    )
    old.get_model("workflow", "TrainingModule").objects.create(
        code="old-layout-module", name_fr="Module", name_ar="وحدة", name_en="Module",
    )
    old.get_model("admin", "LogEntry").objects.create(
        user_id=cast.officer.pk, content_type=OldContentType.objects.get(app_label="workflow", model="notification"),
        object_id=str(notification.pk), object_repr="Old layout", action_flag=CHANGE, change_message="[]",
    )
    auditors = old.get_model("auth", "Group").objects.create(name="old_layout_auditors")
    auditors.permissions.set(OldPermission.objects.filter(
        content_type__app_label="workflow", codename__in=["view_auditentry", "verify_ledger", "report_visit"],
    ))
    old.get_model("auth", "User").objects.get(pk=cast.finance.pk).user_permissions.add(
        OldPermission.objects.get(content_type__app_label="workflow", codename="view_notification")
    )
    # A content type may already exist under a new label, with a permission someone was
    # given (a database set up some other way): it must merge into the moved one.
    stray = OldContentType.objects.create(app_label="ledger", model="checkpoint")
    stray_permission = OldPermission.objects.create(content_type=stray, codename="view_checkpoint",
                                                    name="Can view checkpoint")
    old.get_model("auth", "Group").objects.create(name="checkpoint_readers").permissions.add(stray_permission)
    old.get_model("auth", "User").objects.get(pk=cast.officer.pk).user_permissions.add(stray_permission)
    checkpoint_view = OldPermission.objects.get(content_type__app_label="workflow", codename="view_checkpoint")
    # A rollback with manage.py ends with the post_migrate handlers. viewflow's makes content
    # types and permissions for the live models (not the migrated state's), so after a
    # rollback every moved model also has a content type under its new label. An empty
    # migrate at the old nodes runs the handlers as a rollback does.
    call_command("migrate", "workflow", PRE_SPLIT[0][1], verbosity=0)
    assert not applied() & set(SPLIT)
    strays = {(pk, app, model) for pk, app, model in moved_content_types() if app != "workflow"}
    assert (stray.pk, "ledger", "checkpoint") in strays
    assert {(app, model) for _pk, app, model in strays} <= {(app, model) for model, app in NEW_APP.items()}
    stray_ids = {pk for pk, _app, _model in strays}

    before_forward = snapshot()
    before_forward_groups = group_permissions()

    # --- Forward, as a deployment does it ------------------------------------------------
    call_command("migrate", verbosity=0)
    ContentType.objects.clear_cache()
    assert set(SPLIT) <= applied()
    after = snapshot()

    # Every row, old and new, still there with the same id and the same values.
    assert after["rows"] == before_forward["rows"]
    for model in ("userpreference", "emailpreference", "stepdeadline", "notification", "trainingmodule"):
        assert len(after["rows"][model]) == len(latest["rows"][model]) + 1, model

    # Content types renamed in place: same ids, one per model, none left under workflow.
    assert after["content_types"] == [(pk, NEW_APP[model], model) for pk, _app, model in latest["content_types"]]
    for model, app in NEW_APP.items():
        assert ContentType.objects.get_for_model(live_apps.get_model(app, model)).pk == next(
            pk for pk, _app, name in latest["content_types"] if name == model
        )
    assert not ContentType.objects.filter(app_label="workflow", model__in=list(NEW_APP)).exists()
    for content_type in ContentType.objects.filter(app_label__in=["workflow", *MOVED]):
        assert content_type.model_class() is not None, content_type  # no stale content type
    # The content types under the new labels merged into the moved ones, their permissions too.
    assert not ContentType.objects.filter(pk__in=stray_ids).exists()
    assert after["permissions"] == [row for row in before_forward["permissions"] if row[1] not in stray_ids]

    # Every group keeps as many permissions (the stray one merged into its twin)...
    assert after["groups"].keys() == before_forward["groups"].keys()
    for name, perms in after["groups"].items():
        assert len(perms) == len(before_forward["groups"][name]), name
    assert after["groups"]["checkpoint_readers"] == {checkpoint_view.pk}
    # ...the role groups the very same ones, now under the new labels of the role table...
    groups = group_permissions()
    for role, perms in ROLE_PERMISSIONS.items():
        assert after["groups"][role.value] == latest["groups"][role.value], role
        assert {label for _pk, label in groups[role.value]} == set(perms), role
    assert {label for _pk, label in groups["regional_inspectors"]} == {
        "ledger.view_auditentry", "ledger.verify_ledger", "followup.view_followupvisit",
        "training.assign_trainer", "notifications.view_stepdeadline",
    }
    renamed = {"workflow.view_auditentry": "ledger.view_auditentry", "workflow.verify_ledger": "ledger.verify_ledger",
               "workflow.report_visit": "followup.report_visit"}
    assert groups["old_layout_auditors"] == {
        (pk, renamed[label]) for pk, label in before_forward_groups["old_layout_auditors"]
    }
    # ...and a user's own permissions work under the new labels.
    assert after["user_permissions"] == {
        (user, checkpoint_view.pk if pk == stray_permission.pk else pk) for user, pk in before_forward["user_permissions"]
    }
    assert User.objects.get(pk=cast.officer.pk).has_perm("ledger.view_checkpoint")
    assert User.objects.get(pk=cast.agent.pk).has_perm("training.view_trainingsession")
    assert User.objects.get(pk=cast.finance.pk).has_perm("notifications.view_notification")
    assert Group.objects.get(name="old_layout_auditors").permissions.filter(
        content_type__app_label="ledger", codename="verify_ledger").exists()

    # The admin's history still points at the moved models.
    assert after["log_entries"] == before_forward["log_entries"]
    resolved = {(e.content_type.app_label, e.content_type.model): e.get_edited_object()
                for e in LogEntry.objects.select_related("content_type")}
    assert resolved[("followup", "followupvisit")] == world["visit"]
    assert resolved[("training", "trainingsession")] == TrainingSession.objects.get(pk=world["session"].pk)
    assert resolved[("notifications", "notification")].subject == "Old layout"

    # viewflow's stored flow and task names are as they were, and resolve.
    assert after["processes"] == latest["processes"]
    assert after["tasks"] == latest["tasks"]
    assert "workflow/flows.GrantFlow" in {flow_class for _pk, flow_class, *_rest in after["processes"]}
    for _pk, flow_class, *_rest in after["processes"]:
        assert import_flow_by_ref(flow_class) in registered_flows()
    node_names = set()
    for _pk, _process, flow_task, _status, owner_permission, *_rest in after["tasks"]:
        node = import_task_by_ref(flow_task)
        assert node is not None and node.flow_class in registered_flows(), flow_task
        if node.flow_class is GrantFlow:
            node_names.add(node.name)
        if owner_permission:  # the permission a task's inbox asks for, by its label
            app_label, codename = owner_permission.split(".")
            assert Permission.objects.filter(content_type__app_label=app_label, codename=codename).exists()
    assert {"start", "screening", "closure", "end_closed"} <= node_names

    # The ledger: the same entries, the same entity types (signed into them), intact —
    # once its keys, registered before certificates existed here, are certified.
    call_command("audit", "certify-existing", stdout=io.StringIO())
    report = audit_verify()
    assert "ledger intact" in report
    assert f"entries: {entries} " in report
    assert f"signatures checked: {entries} " in report
    assert {t for (t,) in sql("SELECT DISTINCT entity_type FROM workflow_auditentry")} == entity_types
    assert entity_type_of(FollowUpVisit) == "workflow.followupvisit"
    new_report = verify_with(live_apps, "ledger", live_states())
    assert new_report.ok and new_report.entries == entries

    # The tables are what the moved models describe.
    assert_schema_matches_models()

    # And the migrations describe the models: nothing left to make.
    out = io.StringIO()
    call_command("makemigrations", "--check", "--dry-run", stdout=out)
    assert "No changes detected" in out.getvalue()

    # The services keep working on the moved rows, and new rows take new ids.
    assert UserPreference.objects.get(user=cast.finance).language == "fr"
    assert preferences_update(actor=cast.finance, language="ar", email_kinds=[]).pk == preference.pk
    created = notify(recipient=cast.finance, kind=NotificationKind.AT_RISK, template="deadline_reminder",
                     dedupe_key="split:after", params=REMINDER_PARAMS)
    assert created.pk > max(row[0] for row in after["rows"]["notification"])


def assert_schema_matches_models():
    """Each moved table has the columns, the foreign keys, the indexes and the constraints
    (by name) that its model declares: a later migration of the model finds them."""
    with connection.cursor() as cursor:
        for model, app in NEW_APP.items():
            cls = live_apps.get_model(app, model)
            table = cls._meta.db_table
            assert table == f"workflow_{model}"
            fields = cls._meta.local_concrete_fields
            columns = {c.name for c in connection.introspection.get_table_description(cursor, table)}
            assert columns == {f.column for f in fields}, table
            constraints = connection.introspection.get_constraints(cursor, table)
            names = set(constraints)
            declared = {c.name for c in cls._meta.constraints} | {i.name for i in cls._meta.indexes}
            assert declared <= names, (table, declared - names)
            for index in cls._meta.indexes:
                assert constraints[index.name]["columns"] == [
                    cls._meta.get_field(f).column for f in index.fields
                ], (table, index.name)
            relations = connection.introspection.get_relations(cursor, table)
            for field in fields:
                found = [c for c in constraints.values() if c["columns"] == [field.column]]
                if field.primary_key:
                    assert any(c["primary_key"] for c in found), (table, field.column)
                elif field.unique:
                    assert any(c["unique"] for c in found), (table, field.column)
                elif field.db_index or field.is_relation:
                    assert any(c["index"] or c["unique"] for c in found), (table, field.column)
                if field.is_relation:
                    target = field.related_model._meta
                    assert relations[field.column] == (field.target_field.column, target.db_table), (
                        table, field.column,
                    )
