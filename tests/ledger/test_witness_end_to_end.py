"""The ledger and a real witness: a ``tamkeen_witness serve`` process on loopback, and the
beat's integrator entry sent through the broker to a real Celery worker. As the ledger
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


def beat_tick():
    """The beat's integrator entry, sent through the broker and run by the live worker."""
    from config.celery import app

    settle()
    entry = settings.CELERY_BEAT_SCHEDULE["audit-ledger-integrator"]
    return app.send_task(entry["task"], ignore_result=False).get(timeout=60)


def test_checkpoints_are_cosigned_as_the_ledger_grows_and_a_rollback_is_refused(
        live_worker, witness, make_project, make_user, tmp_path):
    auditor = make_user(Role.AUDITOR, username="auditor")
    make_project("submitted")
    first = beat_tick()
    assert first["checkpoint"] and first["witnesses"] == [
        {"witness": "province", "checkpoint_size": first["tree_size"], "result": "cosigned"}]
    make_project("eligible")
    second = beat_tick()
    assert second["witnesses"][0]["result"] == "cosigned"
    assert witness.latest()["size"] == second["tree_size"] == Checkpoint.objects.order_by("-size").first().size
    assert WitnessCosignature.objects.count() == 2
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
    assert trust.witness_quorum == 1 and trust.checkpoint["size"] == second["tree_size"]
    assert verify_database(trust=trust).ok
    export_bundle(tmp_path / "bundle")
    assert main([str(tmp_path / "bundle"), "--trust", str(trust_file), "--quiet"]) == 0

    # A database rolled back to before the last file's entries (and an integrator machine
    # rebuilt without its memory): the last checkpoint, its leaves and entries are gone.
    rolled_back = Checkpoint.objects.order_by("-size").first()
    previous = Checkpoint.objects.order_by("size").first()
    bypass = superuser_bypass() if connection.vendor == "postgresql" else contextlib.nullcontext()
    with bypass, connection.cursor() as cursor:
        cursor.execute("DELETE FROM ledger_witnesscosignature WHERE checkpoint_id = %s", [rolled_back.pk])
        cursor.execute("DELETE FROM workflow_checkpoint WHERE id = %s", [rolled_back.pk])
        gone = list(LedgerLeaf.objects.filter(index__gte=previous.size).values_list("entry_id", flat=True))
        cursor.execute("DELETE FROM workflow_ledgerleaf WHERE \"index\" >= %s", [previous.size])
        last = max(gone)
        cursor.execute("DELETE FROM workflow_auditentry WHERE id = %s", [last])
    memory.forget()
    make_project("draft")  # the ledger goes on from the rolled-back state
    third = beat_tick()
    assert third["checkpoint"]
    assert third["witnesses"][0]["result"].startswith("refused: ")
    assert witness.latest()["size"] == rolled_back.size  # the witness kept what it cosigned
    assert not WitnessCosignature.objects.filter(checkpoint_id=third["checkpoint"]).exists()
    alerts = Notification.objects.filter(recipient=auditor, kind=NotificationKind.LEDGER_ALERT)
    assert alerts.count() == 1 and "refused the checkpoint" in alerts.get().body
    # The auditor's kept checkpoint no longer verifies, in the database and in a bundle.
    expected = {"trusted_checkpoint_mismatch", "trusted_checkpoint_missing", "checkpoint_not_witnessed"}
    report = verify_database(trust=trust)
    assert not report.ok and expected & {p.code for p in report.problems}, report.summary()
    export_bundle(tmp_path / "rolled-back")
    bundle_report = verify_bundle(str(tmp_path / "rolled-back"), trust=trust)
    assert not bundle_report.ok and expected & {p.code for p in bundle_report.problems}
    assert main([str(tmp_path / "rolled-back"), "--trust", str(trust_file), "--quiet"]) == 1
    assert not AuditEntry.objects.filter(pk=last).exists()
