"""The write path of an audited transition (docs/ledger.md, "The write path").

The entry and the entity's row are written together by ``ledger.writes.write_transition``
(one statement on PostgreSQL). Its contract: exactly the entry's INSERT and the UPDATE
of the transition's columns, ``auto_now`` set, a stale writer refused as
``ConcurrentTransition`` with the transaction marked for rollback, no ``pre_save`` /
``post_save`` (django-fsm's ``post_transition`` and the services' ``on_commit`` hooks are
what reacts to a transition), and only models it can write.
"""

import re

import pytest
from django.db import DatabaseError, connection, transaction
from django.db.models import F
from django.db.models.signals import post_save, pre_save
from django.test.utils import CaptureQueriesContext
from django_fsm import ConcurrentTransition
from django_fsm.signals import post_transition

from core.exceptions import ConcurrentUpdate
from ledger import writes
from ledger.entries import record_transition
from ledger.models import AuditEntry
from ledger.transitions import apply_transition
from workflow import services
from workflow.locks import lock_project
from workflow.models import GrantProject

REASON = "Vérification des pièces en cours."
# What a suspension writes on the project's row: the state, the field its service
# passes, the chain head and auto_now.
SUSPEND_COLUMNS = {"state", "state_before_suspension", "audit_seq", "audit_head", "updated_at"}


def suspend(locked, cast, **kwargs):
    return apply_transition(locked, cast.officer, "suspend", payload={"reason": REASON},
                            fields=["state_before_suspension"], **kwargs)


def test_the_row_and_the_entry_are_saved_together_with_the_chain_head(make_project, cast):
    project = make_project("submitted")
    before = GrantProject.objects.get(pk=project.pk)

    suspended = services.project_suspend(project_id=project.pk, actor=cast.officer, reason=REASON)

    stored = GrantProject.objects.get(pk=project.pk)
    last = AuditEntry.objects.for_entity(project).order_by("-seq").first()
    assert (stored.state, stored.state_before_suspension) == ("suspended", "submitted")
    assert (stored.audit_seq, stored.audit_head) == (last.seq, last.entry_hash)
    assert last.seq == before.audit_seq + 1 and last.prev_hash == before.audit_head
    assert (last.from_state, last.to_state) == ("submitted", "suspended")
    # auto_now: set on the instance, and that value written.
    assert stored.updated_at > before.updated_at
    assert stored.updated_at == suspended.updated_at


def test_only_the_transitions_columns_are_written(make_project, cast):
    project = make_project("submitted")
    with transaction.atomic():
        locked = lock_project(project.pk)
        locked.title = "Changed in memory, not among the saved fields"
        suspend(locked, cast)
    stored = GrantProject.objects.get(pk=project.pk)
    assert stored.state == "suspended"
    assert stored.title == project.title


def test_no_model_signal_is_sent_and_post_transition_is(make_project, cast):
    project = make_project("submitted")
    seen = []

    def record(sender, **kwargs):
        seen.append((kwargs["signal"], sender))

    connected = [(signal, model) for signal in (pre_save, post_save) for model in (GrantProject, AuditEntry)]
    for signal, model in connected:
        signal.connect(record, sender=model, dispatch_uid=f"test-{id(signal)}-{model.__name__}")
    post_transition.connect(record, sender=GrantProject, dispatch_uid="test-post-transition")
    try:
        services.project_suspend(project_id=project.pk, actor=cast.officer, reason=REASON)
    finally:
        for signal, model in connected:
            signal.disconnect(sender=model, dispatch_uid=f"test-{id(signal)}-{model.__name__}")
        post_transition.disconnect(sender=GrantProject, dispatch_uid="test-post-transition")
    assert seen == [(post_transition, GrantProject)]


def test_a_state_changed_behind_the_lock_is_refused_and_writes_nothing(make_project, cast):
    project = make_project("submitted")
    entries = AuditEntry.objects.count()

    with pytest.raises(ConcurrentTransition), transaction.atomic():
        locked = lock_project(project.pk)
        # Another writer that ignored the lock (the optimistic check is the backstop).
        GrantProject.objects.filter(pk=project.pk).update(state="eligible")
        suspend(locked, cast)

    assert AuditEntry.objects.count() == entries
    assert GrantProject.objects.get(pk=project.pk).state == "submitted"
    # The chain head on the instance is left as it was read.
    assert (locked.audit_seq, locked.audit_head) == (project.audit_seq, project.audit_head)


def test_a_refused_write_marks_the_transaction_for_rollback(make_project, cast):
    project = make_project("submitted")
    entries = AuditEntry.objects.count()

    with transaction.atomic():
        locked = lock_project(project.pk)
        GrantProject.objects.filter(pk=project.pk).update(state="eligible")
        with pytest.raises(ConcurrentTransition):
            suspend(locked, cast)
        # Caught inside the transaction: it can only roll back, so the entry the
        # statement inserted (PostgreSQL) never commits without its row.
        assert transaction.get_rollback()

    assert AuditEntry.objects.count() == entries
    assert GrantProject.objects.get(pk=project.pk).state == "submitted"


def test_a_row_that_no_longer_exists_is_a_database_error(make_project, cast):
    project = make_project("submitted")
    entries = AuditEntry.objects.count()
    with pytest.raises(DatabaseError, match="did not affect any rows"), transaction.atomic():
        locked = lock_project(project.pk)
        locked.id = 10**9  # as if the row had been deleted since it was read
        suspend(locked, cast)
    assert AuditEntry.objects.count() == entries


def test_the_services_report_that_race_as_a_coded_concurrent_update(make_project, cast, monkeypatch):
    project = make_project("submitted")
    real_lock = lock_project

    def lock_then_race(project_id, **kwargs):
        locked = real_lock(project_id, **kwargs)
        GrantProject.objects.filter(pk=project_id).update(state="eligible")
        return locked

    monkeypatch.setattr("workflow.services.lifecycle.lock_project", lock_then_race)
    with pytest.raises(ConcurrentUpdate):
        services.project_suspend(project_id=project.pk, actor=cast.officer, reason=REASON)
    assert GrantProject.objects.get(pk=project.pk).state == "submitted"


def test_a_second_transition_of_the_same_instance_is_checked_against_the_first(make_project, cast):
    project = make_project("submitted")
    with transaction.atomic():
        locked = lock_project(project.pk)
        suspend(locked, cast)
        # Its check expects "suspended", the state the first transition wrote.
        apply_transition(locked, cast.officer, "resume", payload={"note": ""},
                         fields=["state_before_suspension"])
    stored = GrantProject.objects.get(pk=project.pk)
    assert (stored.state, stored.state_before_suspension) == ("submitted", "")
    assert [e.transition for e in AuditEntry.objects.for_entity(project).order_by("-seq")[:2]] == [
        "resume", "suspend",
    ]


def test_a_plain_save_after_a_transition_needs_the_row_read_anew(make_project, cast):
    project = make_project("submitted")
    with transaction.atomic():
        locked = lock_project(project.pk)
        suspend(locked, cast)
        # django-fsm's own record of the state read is not updated by the write path.
        locked.title = "Renamed"
        with pytest.raises(ConcurrentTransition), transaction.atomic():
            locked.save(update_fields=["title"])
        fresh = lock_project(project.pk)
        fresh.title = "Renamed"
        fresh.save(update_fields=["title"])
    assert GrantProject.objects.get(pk=project.pk).title == "Renamed"


def test_the_entry_returned_is_the_stored_row(make_project, cast):
    project = make_project("submitted")
    with transaction.atomic():
        locked = lock_project(project.pk)
        locked.suspend()
        entry = record_transition(
            entity=locked, transition="suspend", from_state="submitted", to_state="suspended",
            actor=cast.officer, role="program_officer", payload={"reason": REASON},
            save_fields=["state", "state_before_suspension", "audit_seq", "audit_head", "updated_at"],
        )
    stored = AuditEntry.objects.get(pk=entry.pk)
    for name in ("entity_type", "entity_id", "seq", "transition", "from_state", "to_state", "actor_id",
                 "actor_role", "payload", "created_at", "prev_hash", "entry_hash", "key_id"):
        assert getattr(entry, name) == getattr(stored, name), name
    assert bytes(entry.canonical) == bytes(stored.canonical)
    assert bytes(entry.signature) == bytes(stored.signature)


def test_an_expression_is_refused_before_anything_is_written(make_project, cast):
    project = make_project("submitted")
    entries = AuditEntry.objects.count()
    with pytest.raises(ValueError, match="not expressions"), transaction.atomic():
        locked = lock_project(project.pk)
        locked.requested_amount = F("requested_amount") + 1
        apply_transition(locked, cast.officer, "suspend", payload={"reason": REASON},
                         fields=["state_before_suspension", "requested_amount"])
    assert AuditEntry.objects.count() == entries


def test_an_unknown_field_is_refused_as_save_refuses_it(make_project, cast):
    project = make_project("submitted")
    with pytest.raises(ValueError, match="do not exist"), transaction.atomic():
        apply_transition(lock_project(project.pk), cast.officer, "suspend", payload={"reason": REASON},
                         fields=["no_such_field"])


def test_a_model_that_overrides_save_is_refused_before_anything_is_written(make_project, cast, monkeypatch):
    project = make_project("submitted")
    entries = AuditEntry.objects.count()

    def save(self, *args, **kwargs):  # would do something the write path skips
        raise AssertionError("not called")

    monkeypatch.setattr(GrantProject, "save", save)
    with pytest.raises(TypeError, match="overrides save"):
        services.project_suspend(project_id=project.pk, actor=cast.officer, reason=REASON)
    monkeypatch.undo()
    assert AuditEntry.objects.count() == entries
    assert GrantProject.objects.get(pk=project.pk).state == "submitted"


def test_the_lock_returns_the_row_as_the_orm_reads_it(make_project):
    project = make_project("submitted")
    GrantProject.objects.filter(pk=project.pk).update(
        eligibility_failures=[{"code": "officer", "message": "Pièce illisible"}])
    with transaction.atomic():
        locked = lock_project(project.pk)
    expected = GrantProject.objects.get(pk=project.pk)
    for field in GrantProject._meta.concrete_fields:
        assert getattr(locked, field.attname) == getattr(expected, field.attname), field.name
    assert locked.eligibility_failures == [{"code": "officer", "message": "Pièce illisible"}]


def _statements(captured):
    return [q["sql"] for q in captured.captured_queries if q["sql"].strip().upper() not in ("BEGIN", "COMMIT")]


def _set_columns(update_sql):
    assignments = re.search(r'UPDATE "workflow_grantproject" SET (.*?) WHERE', update_sql).group(1)
    return set(re.findall(r'"(\w+)" = ', assignments))


def test_on_sqlite_the_entry_and_the_row_are_two_statements(make_project, cast):
    if connection.vendor != "sqlite":
        pytest.skip("the SQLite form of the write")
    project = make_project("submitted")
    with CaptureQueriesContext(connection) as captured:
        services.project_suspend(project_id=project.pk, actor=cast.officer, reason=REASON)
    # Between the savepoints of the test's transaction, with the permission checks of a
    # new officer object: the lock, then the two writes.
    touched = [s for s in _statements(captured) if '"workflow_grantproject"' in s or '"workflow_auditentry"' in s]
    lock, insert, update = touched
    assert lock.startswith("SELECT") and f'"workflow_grantproject"."id" = {project.pk}' in lock
    assert insert.startswith('INSERT INTO "workflow_auditentry"')
    assert _set_columns(update) == SUSPEND_COLUMNS
    assert update.endswith(f"""WHERE "id" = {project.pk} AND "state" = 'submitted'""")


@pytest.mark.postgres
@pytest.mark.usefixtures("reference_data")
def test_on_postgresql_a_transition_is_two_statements_between_begin_and_commit(make_project, cast, monkeypatch):
    project = make_project("submitted")
    # The transition's own write path; what the flows do with it (in the same
    # transaction) is theirs, measured by their tests.
    from ledger.signals import transition_applied

    monkeypatch.setattr(transition_applied, "send", lambda *args, **kwargs: [])
    # The first transitions on this connection prepare the statements.
    services.project_suspend(project_id=project.pk, actor=cast.officer, reason=REASON)
    services.project_resume(project_id=project.pk, actor=cast.officer)
    with CaptureQueriesContext(connection) as captured:
        services.project_suspend(project_id=project.pk, actor=cast.officer, reason=REASON)
    inside = _statements(captured)
    assert len(inside) == 2, inside
    # Both are server-side prepared statements (core.prepared).
    assert all(s.startswith("EXECUTE tamkeen_") for s in inside), inside
    assert inside[0].endswith(f"({project.pk})")
    with connection.cursor() as cursor:
        cursor.execute("SELECT name, statement FROM pg_prepared_statements")
        definitions = dict(cursor.fetchall())
    lock, write = (definitions[s.split()[1].split("(")[0]] for s in inside)
    assert lock.endswith('FROM "workflow_grantproject" WHERE "id" = $1 FOR UPDATE')
    assert 'WITH entry AS (INSERT INTO "workflow_auditentry" (' in write
    assert _set_columns(write) == SUSPEND_COLUMNS
    assert re.search(r'WHERE "id" = \$\d+ AND "state" = \$\d+ RETURNING 1\)', write)


@pytest.mark.postgres
@pytest.mark.usefixtures("reference_data")
def test_prepared_statements_survive_a_rolled_back_transition_and_a_new_session(make_project, cast, monkeypatch):
    project = make_project("submitted")
    write = writes.write_transition

    def write_then_fail(*args, **kwargs):
        write(*args, **kwargs)
        raise RuntimeError("fails after both statements ran")

    monkeypatch.setattr(writes, "write_transition", write_then_fail)
    with pytest.raises(RuntimeError, match="after both statements"):
        services.project_suspend(project_id=project.pk, actor=cast.officer, reason=REASON)
    monkeypatch.undo()
    assert GrantProject.objects.get(pk=project.pk).state == "submitted"
    services.project_suspend(project_id=project.pk, actor=cast.officer, reason=REASON)
    # A new session holds none of the statements: they are prepared again.
    with connection.cursor() as cursor:
        cursor.execute("DEALLOCATE ALL")
    connection._tamkeen_prepared = None
    services.project_resume(project_id=project.pk, actor=cast.officer)
    stored = GrantProject.objects.get(pk=project.pk)
    assert stored.state == "submitted"
    assert [e.transition for e in AuditEntry.objects.for_entity(project).order_by("-seq")[:2]] == [
        "resume", "suspend",
    ]


@pytest.mark.postgres
@pytest.mark.usefixtures("reference_data")
def test_prepared_statements_can_be_turned_off_for_a_transaction_pooler(make_project, cast, settings):
    settings.TAMKEEN_PREPARED_STATEMENTS = False
    project = make_project("submitted")
    with CaptureQueriesContext(connection) as captured:
        services.project_suspend(project_id=project.pk, actor=cast.officer, reason=REASON)
    statements = [q["sql"] for q in captured.captured_queries]
    assert not any(s.startswith(("PREPARE", "EXECUTE")) for s in statements), statements
    assert any(s.startswith('WITH entry AS (INSERT INTO "workflow_auditentry"') for s in statements), statements
    assert GrantProject.objects.get(pk=project.pk).state == "suspended"
