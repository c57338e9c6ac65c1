"""The ledger and a real witness: a ``tamkeen_witness serve`` process on loopback, a real
Celery beat (the scheduler service, ticking the integrator's entry of
``CELERY_BEAT_SCHEDULE`` every second instead of every minute) and a real worker, both
on the session's broker. As the ledger
grows, each checkpoint is cosigned; a history rolled back in the database (and an
integrator that lost its memory of it) gets no cosignature, and the auditors are alerted.
The auditor's trust file that requires the witness accepts the first ledger and refuses
the rolled-back one."""

import base64
import contextlib
import io
import json
import os
import select
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection

from ledger import memory
from ledger.evidence import export_bundle, verify_database
from ledger.keys import root_public_key
from ledger.models import AuditEntry, Checkpoint, LedgerLeaf, WitnessCosignature
from ledger.tamkeen_verify import cosigning_witnesses, key_id_for, load_trust, main, verify_bundle
from notifications.models import Notification, NotificationKind
from tests._audit_support import settle, superuser_bypass
from tests.conftest import Role

pytestmark = [pytest.mark.live_worker, pytest.mark.django_db(transaction=True),
              pytest.mark.usefixtures("reference_data")]
WITNESS_DIR = Path(__file__).resolve().parents[2] / "witness"


class Witness:
    def __init__(self, tmp_path, root):
        env = {**os.environ, "PYTHONPATH": str(WITNESS_DIR)}
        key, state = tmp_path / "witness.pem", tmp_path / "witness-state.json"
        made = subprocess.run([sys.executable, "-m", "tamkeen_witness", "init", "--key", str(key), "--state",
                               str(state)], capture_output=True, text=True, env=env, timeout=30, check=True)
        self.public_key = next(word for word in made.stdout.split() if len(word) == 64)
        self.log = open(tmp_path / "witness.log", "ab")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tamkeen_witness", "serve", "--key", str(key), "--state", str(state),
             "--root-public-key", root, "--listen", "127.0.0.1:0"],
            stdout=subprocess.PIPE, stderr=self.log, text=True, env=env)
        ready, _, _ = select.select([self.process.stdout], [], [], 20)
        line = self.process.stdout.readline() if ready else ""
        assert line.startswith("listening on http://"), line
        self.url = line.split()[-1]

    def latest(self):
        with urllib.request.urlopen(self.url + "/latest", timeout=10) as response:
            return json.load(response)

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=10)
        self.process.stdout.close()
        self.log.close()


@pytest.fixture
def witness(tmp_path, settings):
    running = Witness(tmp_path, root_public_key())
    settings.TAMKEEN_WITNESSES = [{"name": "province", "url": running.url, "public_key": running.public_key}]
    settings.TAMKEEN_WITNESS_QUORUM = 1
    settings.TAMKEEN_CHECKPOINT_EVERY_SECONDS = 0  # a checkpoint at every tick with something new
    yield running
    running.stop()


class Beat:
    """Celery's beat service, in a thread, ticking the integrator's entry of the schedule
    every second."""

    def __init__(self, tmp_path):
        self.tmp_path, self.service, self.thread = tmp_path, None, None

    def start(self):
        from celery.beat import Service

        from config.celery import app

        self.previous = app.conf.beat_schedule
        entry = settings.CELERY_BEAT_SCHEDULE["audit-ledger-integrator"]
        app.conf.beat_schedule = {"audit-ledger-integrator": {**entry, "schedule": 1.0}}
        self.service = Service(app, max_interval=1, schedule_filename=str(self.tmp_path / "beat" / "schedule"),
                               scheduler_cls=settings.CELERY_BEAT_SCHEDULER)
        self.thread = threading.Thread(target=self.service.start, daemon=True)
        self.thread.start()

    def stop(self):
        from config.celery import app

        if self.service is not None:
            self.service.stop()
            self.thread.join(timeout=10)
            app.conf.beat_schedule = self.previous
            self.service = None


@pytest.fixture
def beat(live_worker, tmp_path):
    running = Beat(tmp_path)
    running.start()
    yield running
    running.stop()


def until(condition, what, timeout=90):
    """Wait for beat and the worker to make ``condition()`` true."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"beat and the worker did not get there in {timeout} s: {what}")


def covered_and_cosigned():
    """The newest checkpoint, once it covers every entry and the witness cosigned it."""
    settle()
    newest = Checkpoint.objects.order_by("-size").first()
    if newest is None or newest.size != AuditEntry.objects.count():
        return None
    return newest if WitnessCosignature.objects.filter(checkpoint=newest).exists() else None


def test_checkpoints_are_cosigned_as_the_ledger_grows_and_a_rollback_is_refused(
        witness, beat, make_project, make_user, tmp_path):
    auditor = make_user(Role.AUDITOR, username="auditor")
    make_project("submitted")
    first = until(covered_and_cosigned, "the first checkpoint cosigned")
    make_project("eligible")
    second = until(lambda: (found := covered_and_cosigned()) and found.size > first.size and found,
                   "a second checkpoint cosigned")
    assert witness.latest()["size"] == second.size
    trusted = [{"id": key_id_for(witness.public_key), "public_key": witness.public_key}]
    for cosignature in WitnessCosignature.objects.select_related("checkpoint"):
        sent = {"witness": cosignature.witness_key_id, "time": cosignature.time,
                "signature": base64.b64encode(bytes(cosignature.signature)).decode()}
        assert cosigning_witnesses(bytes(cosignature.checkpoint.canonical), [sent], trusted) == {
            cosignature.witness_key_id}

    # The auditor's trust file requires this witness: the ledger verifies against it.
    trust_file = tmp_path / "trust.json"
    call_command("audit", "trust", "--out", str(trust_file), stdout=io.StringIO())
    trust = load_trust(str(trust_file))
    assert trust.witness_quorum == 1 and trust.checkpoint["size"] == second.size
    assert verify_database(trust=trust).ok
    export_bundle(tmp_path / "bundle")
    assert main([str(tmp_path / "bundle"), "--trust", str(trust_file), "--quiet"]) == 0

    # A database rolled back to before the last file's entries (and an integrator machine
    # rebuilt without its memory): the last checkpoint, its leaves and an entry are gone.
    beat.stop()
    time.sleep(3)  # the ticks already sent finish
    cosigned = witness.latest()["size"]  # the second checkpoint, or one signed just after it
    assert cosigned >= second.size
    bypass = superuser_bypass() if connection.vendor == "postgresql" else contextlib.nullcontext()
    with bypass, connection.cursor() as cursor:
        # Every checkpoint after the first (the entries may have come in over two ticks).
        later = list(Checkpoint.objects.filter(size__gt=first.size).values_list("pk", flat=True))
        assert second.pk in later
        for pk in later:
            cursor.execute("DELETE FROM ledger_witnesscosignature WHERE checkpoint_id = %s", [pk])
            cursor.execute("DELETE FROM workflow_checkpoint WHERE id = %s", [pk])
        gone = list(LedgerLeaf.objects.filter(index__gte=first.size).values_list("entry_id", flat=True))
        cursor.execute('DELETE FROM workflow_ledgerleaf WHERE "index" >= %s', [first.size])
        # The stored tree's rows past the first checkpoint went with the rollback too.
        cursor.execute('DELETE FROM ledger_ledgertile WHERE ("index" * 256 + width) * power(256, level) > %s',
                       [first.size])
        last = max(gone)
        cursor.execute("DELETE FROM workflow_auditentry WHERE id = %s", [last])
    memory.forget()
    make_project("draft")  # the ledger goes on from the rolled-back state
    beat.start()
    alerts = Notification.objects.filter(recipient=auditor, kind=NotificationKind.LEDGER_ALERT)
    alert = until(lambda: alerts.first(), "the auditors alerted of the witness's refusal")
    assert "refused the checkpoint" in alert.body
    third = Checkpoint.objects.order_by("-size", "-created_at").first()
    assert third.pk != first.pk and not WitnessCosignature.objects.filter(checkpoint=third).exists()
    assert witness.latest()["size"] == cosigned  # the witness kept what it cosigned
    # Grown past what the witness cosigned, the rewritten history is a fork of it.
    make_project("submitted")
    make_project("submitted")
    fork = until(lambda: alerts.filter(body__contains="witness_fork").first(), "the auditors alerted of a fork")
    assert "province" in fork.body
    assert witness.latest()["size"] == cosigned
    # The auditor's kept checkpoint no longer verifies, in the database and in a bundle.
    expected = {"trusted_checkpoint_mismatch", "trusted_checkpoint_missing", "checkpoint_not_witnessed"}
    report = verify_database(trust=trust)
    assert not report.ok and expected & {p.code for p in report.problems}, report.summary()
    export_bundle(tmp_path / "rolled-back")
    bundle_report = verify_bundle(str(tmp_path / "rolled-back"), trust=trust)
    assert not bundle_report.ok and expected & {p.code for p in bundle_report.problems}
    assert main([str(tmp_path / "rolled-back"), "--trust", str(trust_file), "--quiet"]) == 1
    assert not AuditEntry.objects.filter(pk=last).exists()
