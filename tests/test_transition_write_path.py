"""The write path of an audited transition (docs/audit-ledger.md, "The write path").

The entry and the entity's row are written together by ``record_transition`` (one
statement on PostgreSQL); the entity's save must keep everything
``save(update_fields=...)`` does: signals, ``auto_now``, django-fsm's optimistic check.
"""

import pytest
from django.db import connection, transaction
from django.db.models import F
from django.db.models.signals import post_save, pre_save
from django.test.utils import CaptureQueriesContext
from django_fsm import ConcurrentTransition

from core.exceptions import ConcurrentUpdate
from ledger.models import AuditEntry
from ledger.rows import save_fields
from ledger.transitions import apply_transition
from tests._audit_support import reference_data  # noqa: F401 - fixture
from workflow import services
from workflow.locks import lock_project
from workflow.models import GrantProject

REASON = "Vérification des pièces en cours."


@pytest.fixture(autouse=True)
def _fast_test_settings(settings, tmp_path):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.MEDIA_ROOT = str(tmp_path)


def test_the_row_and_the_entry_are_saved_together_with_the_chain_head(make_project, cast):
    project = make_project("submitted")
    before = GrantProject.objects.get(pk=project.pk)

    services.project_suspend(project_id=project.pk, actor=cast.officer, reason=REASON)

    stored = GrantProject.objects.get(pk=project.pk)
    last = AuditEntry.objects.for_entity(project).order_by("-seq").first()
    assert (stored.state, stored.state_before_suspension) == ("suspended", "submitted")
    assert (stored.audit_seq, stored.audit_head) == (last.seq, last.entry_hash)
    assert last.seq == before.audit_seq + 1 and last.prev_hash == before.audit_head
    assert stored.updated_at > before.updated_at  # auto_now, as save() sets it


def test_signals_are_sent_as_save_update_fields_sends_them(make_project, cast):
    project = make_project("submitted")
    seen = []

    def record(sender, instance, **kwargs):
        seen.append((kwargs["signal"], sender, kwargs.get("created"), kwargs.get("update_fields")))

    for signal in (pre_save, post_save):
        signal.connect(record, sender=GrantProject, dispatch_uid=f"test-{id(signal)}-project")
        signal.connect(record, sender=AuditEntry, dispatch_uid=f"test-{id(signal)}-entry")
    try:
        services.project_suspend(project_id=project.pk, actor=cast.officer, reason=REASON)
    finally:
        for signal in (pre_save, post_save):
            signal.disconnect(sender=GrantProject, dispatch_uid=f"test-{id(signal)}-project")
            signal.disconnect(sender=AuditEntry, dispatch_uid=f"test-{id(signal)}-entry")

    fields = frozenset({"state", "state_before_suspension", "audit_seq", "audit_head", "updated_at"})
    assert seen == [
        (pre_save, GrantProject, None, fields),
        (post_save, AuditEntry, True, None),
        (post_save, GrantProject, False, fields),
    ]


def test_a_state_changed_behind_the_lock_is_a_concurrent_update_and_writes_nothing(make_project, cast):
    project = make_project("submitted")
    entries = AuditEntry.objects.count()

    with pytest.raises(ConcurrentTransition), transaction.atomic():
        locked = lock_project(project.pk)
        # Another writer that ignored the lock (the optimistic check is the backstop).
        GrantProject.objects.filter(pk=project.pk).update(state="eligible")
        apply_transition(locked, cast.officer, "suspend", payload={"reason": REASON},
                         fields=["state_before_suspension"])

    assert AuditEntry.objects.count() == entries
    assert GrantProject.objects.get(pk=project.pk).state == "submitted"


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


def test_the_saved_state_becomes_the_reference_for_the_next_save(make_project, cast):
    project = make_project("submitted")
    with transaction.atomic():
        locked = lock_project(project.pk)
        apply_transition(locked, cast.officer, "suspend", payload={"reason": REASON},
                         fields=["state_before_suspension"])
        # A second transition on the same instance: its check expects "suspended".
        apply_transition(locked, cast.officer, "resume", payload={"note": ""},
                         fields=["state_before_suspension"])
    stored = GrantProject.objects.get(pk=project.pk)
    assert (stored.state, stored.state_before_suspension) == ("submitted", "")
    assert [e.transition for e in AuditEntry.objects.for_entity(project).order_by("-seq")[:2]] == [
        "resume", "suspend",
    ]


def test_an_expression_value_is_written_by_django(make_project):
    project = make_project("draft")
    amount = project.requested_amount
    with transaction.atomic():
        locked = lock_project(project.pk)
        locked.requested_amount = F("requested_amount") + 1
        save_fields(locked, ["requested_amount"])
    assert GrantProject.objects.get(pk=project.pk).requested_amount == amount + 1


def test_an_unknown_field_is_refused_as_save_refuses_it(make_project):
    project = make_project("draft")
    with pytest.raises(ValueError, match="do not exist"), transaction.atomic():
        save_fields(lock_project(project.pk), ["no_such_field"])


def test_the_lock_returns_the_row_as_the_orm_reads_it(make_project):
    project = make_project("submitted")
    with transaction.atomic():
        locked = lock_project(project.pk)
    expected = GrantProject.objects.get(pk=project.pk)
    for field in GrantProject._meta.concrete_fields:
        assert getattr(locked, field.attname) == getattr(expected, field.attname), field.name
    assert not locked._state.adding and locked._state.db == "default"


@pytest.mark.postgres
@pytest.mark.usefixtures("reference_data")
def test_on_postgresql_a_transition_is_two_statements_between_begin_and_commit(make_project, cast):
    project = make_project("submitted")
    services.project_suspend(project_id=project.pk, actor=cast.officer, reason=REASON)  # warm caches
    with CaptureQueriesContext(connection) as captured:
        services.project_resume(project_id=project.pk, actor=cast.officer)
    statements = [q["sql"] for q in captured.captured_queries]
    inside = [s for s in statements if s.strip().upper() not in ("BEGIN", "COMMIT")]
    assert len(inside) == 2, statements
    # Both are server-side prepared statements (core.prepared), prepared by the
    # first transition on this connection.
    assert all(s.startswith("EXECUTE tamkeen_") for s in inside), inside
    with connection.cursor() as cursor:
        cursor.execute("SELECT name, statement FROM pg_prepared_statements")
        definitions = dict(cursor.fetchall())
    lock, write = (definitions[s.split()[1].split("(")[0]] for s in inside)
    assert "FOR UPDATE" in lock
    assert "WITH entry AS (INSERT INTO" in write and "UPDATE" in write


@pytest.mark.postgres
@pytest.mark.usefixtures("reference_data")
def test_prepared_statements_survive_a_rolled_back_transition_and_a_new_session(make_project, cast):
    project = make_project("submitted")

    def fail(sender, instance, **kwargs):
        raise RuntimeError("fails after both statements ran")

    post_save.connect(fail, sender=GrantProject, dispatch_uid="test-fail-after-write")
    try:
        with pytest.raises(RuntimeError, match="after both statements"):
            services.project_suspend(project_id=project.pk, actor=cast.officer, reason=REASON)
    finally:
        post_save.disconnect(sender=GrantProject, dispatch_uid="test-fail-after-write")
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
    assert any(s.startswith("WITH entry AS (INSERT INTO") for s in statements), statements
    assert GrantProject.objects.get(pk=project.pk).state == "suspended"
