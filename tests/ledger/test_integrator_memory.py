"""The integrator remembers, outside the database, the last checkpoint it signed: it
signs nothing on a history that lost it (and alerts the auditors), accepts its own
signed successor after a stop between the commit and the write, and starts from the
database's newest checkpoint on a machine that remembers nothing."""

import contextlib
import json

from django.db import connection

from core.roles import Role
from ledger import memory
from ledger.models import Checkpoint
from notifications.models import Notification, NotificationKind
from tests._audit_support import committed, integrate_settled, superuser_bypass


@committed
def test_a_deleted_checkpoint_is_not_signed_over_and_the_auditors_are_alerted(make_project, make_user):
    auditor = make_user(Role.AUDITOR, username="auditor")
    make_project("submitted")
    first = integrate_settled(force_checkpoint=True).checkpoint
    # Each checkpoint goes to the auditors by email (read already in the application).
    sent = Notification.objects.get(recipient=auditor, kind=NotificationKind.CHECKPOINT)
    assert first.root_hash in sent.body and sent.email_wanted and sent.read_at is not None
    make_project("draft")
    second = integrate_settled(force_checkpoint=True).checkpoint
    assert memory.load().size == second.size
    bypass = superuser_bypass() if connection.vendor == "postgresql" else contextlib.nullcontext()
    with bypass, connection.cursor() as cursor:
        cursor.execute("DELETE FROM workflow_checkpoint WHERE id = %s", [second.pk])
    make_project("draft")
    refused = integrate_settled(force_checkpoint=True)
    assert refused.checkpoint is None
    assert f"size {first.size}" in refused.refused and f"size {second.size}" in refused.refused
    assert list(Checkpoint.objects.values_list("size", flat=True)) == [first.size]
    alert = Notification.objects.get(recipient=auditor, kind=NotificationKind.LEDGER_ALERT)
    assert "checkpoint_history_rewritten" in alert.body and alert.email_wanted
    # Refused again at the next tick, without a second alert for the same problem.
    assert integrate_settled(force_checkpoint=True).checkpoint is None
    assert Notification.objects.filter(kind=NotificationKind.LEDGER_ALERT).count() == 1


@committed
def test_its_own_signed_successor_is_accepted_after_a_stop_before_remembering(make_project):
    make_project("submitted")
    integrate_settled(force_checkpoint=True)
    before = memory.load()
    make_project("draft")
    second = integrate_settled(force_checkpoint=True).checkpoint
    memory.save(before)  # the process stopped after the commit, before writing the file
    make_project("draft")
    third = integrate_settled(force_checkpoint=True).checkpoint
    assert third is not None and json.loads(bytes(third.canonical))["prev_size"] == second.size
    assert memory.load().size == third.size


@committed
def test_a_machine_that_remembers_nothing_starts_from_the_newest_signed_checkpoint(make_project):
    make_project("submitted")
    first = integrate_settled(force_checkpoint=True).checkpoint
    memory.forget()
    make_project("draft")
    second = integrate_settled(force_checkpoint=True).checkpoint
    assert json.loads(bytes(second.canonical))["prev_size"] == first.size
    assert memory.load().size == second.size


@committed
def test_new_state_machines_are_signed_by_a_checkpoint_even_with_nothing_new(make_project, monkeypatch):
    """After an upgrade that changes the machines (or their folds), the newest checkpoint
    signs the ones in force at the next tick: no false "altered definitions" meanwhile."""
    from ledger import integrator
    from ledger.evidence import verify_database

    make_project("submitted")
    first = integrate_settled(force_checkpoint=True).checkpoint
    assert integrate_settled().checkpoint is None  # nothing new, nothing changed
    monkeypatch.setattr(integrator, "_definitions", lambda: "0" * 64)
    again = integrate_settled().checkpoint
    assert again is not None and again.size == first.size and again.root_hash == first.root_hash
    assert json.loads(bytes(again.canonical))["definitions"] == "0" * 64
    monkeypatch.undo()
    assert integrate_settled().checkpoint is not None  # and back
    assert verify_database().ok


@committed
def test_a_witness_out_of_reach_for_too_long_alerts_the_auditors_once(make_project, make_user, settings):
    from ledger.witnesses import cosign_pending

    auditor = make_user(Role.AUDITOR, username="auditor")
    settings.TAMKEEN_WITNESSES = [{"name": "province", "url": "http://127.0.0.1:9", "public_key": "11" * 32}]
    settings.TAMKEEN_WITNESS_ALERT_AFTER_SECONDS = 3600
    make_project("submitted")
    integrate_settled(force_checkpoint=True)
    assert cosign_pending()[0].result.startswith("unreachable")
    assert not Notification.objects.filter(kind=NotificationKind.LEDGER_ALERT).exists()  # not for long yet
    settings.TAMKEEN_WITNESS_ALERT_AFTER_SECONDS = 0
    cosign_pending()
    cosign_pending()
    alert = Notification.objects.get(recipient=auditor, kind=NotificationKind.LEDGER_ALERT)
    assert "witness province has not cosigned" in alert.body
