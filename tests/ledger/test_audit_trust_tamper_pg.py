"""Ledger trust that does not live in the database (issue 13): the attacks an auditor
tried as a database superuser — keys replaced or planted, checkpoints deleted, rebuilt or
rolled back, an emptied ledger, time running backwards, a bundle that vouches for itself,
a forged proof carrying its own keys — are each detected by ``audit verify --full
--trust`` and by the verifier the auditor installed (not the bundle's copy) on a fresh
export with ``--trust``, naming the key, entry, checkpoint or file. The untouched ledger
passes both.

Each case builds a fresh ledger: files in several states through the services, three
signed checkpoints, and the auditor's trust file kept at the newest.
"""

import base64
import hashlib
import io
import json
import subprocess
import sys
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.utils import timezone

from ledger import memory
from ledger.canonical import canonical_bytes, entry_hash, format_time
from ledger.evidence import VERIFIER_SOURCE
from ledger.keys import KEYRING, certify, public_hex, statement_for
from ledger.models import AuditEntry, Checkpoint, KeyCertificate, SigningKey
from ledger.tamkeen_verify import key_id_for, load_trust
from tests._audit_support import (
    PROJECT,
    append_forged,
    chain,
    entry_key,
    export,
    integrate_settled,
    superuser_bypass,
)
from workflow import services
from workflow.models import GrantProject

pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("reference_data")]


class Ledger:
    def __init__(self, make_project, cast, program, tmp_path):
        program.required_documents = []
        program.save(update_fields=["required_documents"])
        self.cast = cast
        self.approved = make_project("approved").pk
        self.draft = make_project("draft").pk
        assert integrate_settled(force_checkpoint=True).checkpoint
        self.committee = make_project("in_committee").pk
        assert integrate_settled(force_checkpoint=True).checkpoint
        services.project_suspend(project_id=self.approved, actor=cast.officer, reason="Contrôle sur place.")
        assert integrate_settled(force_checkpoint=True).checkpoint
        self.trust = tmp_path / "trust.json"
        call_command("audit", "trust", "--out", str(self.trust), stdout=io.StringIO())
        self.tmp_path = tmp_path


@pytest.fixture
def ledger(make_project, cast, program, tmp_path):
    return Ledger(make_project, cast, program, tmp_path)


def execute(sql, params=()):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def installed_verifier(bundle, trust, *extra):
    """The auditor's own copy of the verifier (the repository's, not the bundle's), in an
    isolated interpreter: (exit code, report)."""
    done = subprocess.run([sys.executable, "-I", str(VERIFIER_SOURCE), str(bundle), "--trust", str(trust),
                           "--json", *extra], capture_output=True, text=True, timeout=300)
    return done.returncode, (json.loads(done.stdout) if done.stdout.strip() else {"stderr": done.stderr})


def database_report(trust):
    out = io.StringIO()
    try:
        call_command("audit", "verify", "--full", "--json", "--trust", str(trust), stdout=out, stderr=io.StringIO())
    except CommandError:
        return json.loads(out.getvalue()), 1
    return json.loads(out.getvalue()), 0


def has(problems, code, **fields):
    for problem in problems:
        detail = problem.get("detail", {})
        if problem["code"] == code and all(problem.get(k, detail.get(k)) == v for k, v in fields.items()):
            return True
    return False


def assert_both_detect(ledger, *expected, name="after"):
    """Both verifiers, with the trust file, report each (code, fields) of ``expected``."""
    said, code = database_report(ledger.trust)
    assert code == 1 and not said["ok"], said
    for problem_code, fields in expected:
        assert has(said["problems"], problem_code, **fields), (problem_code, fields, said["problems"][:5])
    bundle = export(ledger.tmp_path / name)
    code, report = installed_verifier(bundle, ledger.trust, "--signatures")
    assert code == 1, report
    for problem_code, fields in expected:
        assert has(report["problems"], problem_code, **fields), (problem_code, fields, report["problems"][:5])
    return said, report


def test_the_untouched_ledger_passes_both_verifiers_with_the_trust_file(ledger):
    said, code = database_report(ledger.trust)
    assert code == 0 and said["ok"] and said["trust"] == "trust file", said
    code, report = installed_verifier(export(ledger.tmp_path / "bundle"), ledger.trust, "--signatures")
    assert code == 0 and report["ok"] and report["signatures_checked"] == AuditEntry.objects.count(), report


# --- 1. Keys trusted from the database -----------------------------------------------------


def test_a_public_key_replaced_under_its_id_and_everything_resigned_is_refused(ledger):
    attacker = Ed25519PrivateKey.generate()
    entry_key_row = SigningKey.objects.get(purpose="entry")
    with superuser_bypass():
        execute("UPDATE workflow_signingkey SET public_key = %s WHERE id = %s",
                [public_hex(attacker), entry_key_row.pk])
        for entry in AuditEntry.objects.all():
            execute("UPDATE workflow_auditentry SET signature = %s WHERE id = %s",
                    [attacker.sign(bytes.fromhex(entry.entry_hash)), entry.pk])
    KEYRING.clear()
    first = chain(ledger.approved)[0]
    assert_both_detect(ledger, ("key_untrusted", {"key_id": entry_key_row.key_id}),
                       ("unknown_key", {"entity_id": str(ledger.approved), "seq": 1, "entry_id": first.pk}))
    # ``audit keys`` shows the public key, and says it is not trusted.
    out = io.StringIO()
    call_command("audit", "keys", stdout=out)
    assert public_hex(attacker) in out.getvalue() and "NOT TRUSTED" in out.getvalue()


def test_a_key_planted_with_the_applications_rights_signs_nothing_that_verifies(ledger):
    """No superuser, no private key of the ledger: a key row (valid in a past window) and a
    certificate by the attacker's own root, then forged entries signed with it."""
    attacker, attacker_root = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    planted_from = timezone.now() - timedelta(days=30)
    row = SigningKey(key_id=key_id_for(public_hex(attacker)), purpose="entry", public_key=public_hex(attacker),
                     valid_from=planted_from)
    row.save()
    KeyCertificate(key_id=row.key_id, certificate=certify(
        statement_for(public_hex(attacker), "entry", planted_from), attacker_root)).save()
    KEYRING.clear()
    forged = append_forged(ledger.draft, transition="submit", to_state="submitted", private_key=attacker,
                           key_id=row.key_id, actor_id=ledger.cast.agent.pk, role="association_agent",
                           at=timezone.now())
    GrantProject.objects.filter(pk=ledger.draft).update(state="submitted")
    assert_both_detect(ledger, ("key_untrusted", {"key_id": row.key_id}),
                       ("unknown_key", {"entity_id": str(ledger.draft), "seq": 2, "entry_id": forged.pk}))


# --- 2. Checkpoints that vanish or are rebuilt -----------------------------------------------


def test_a_deleted_checkpoint_breaks_the_chain_of_checkpoints(ledger):
    middle = Checkpoint.objects.order_by("size")[1]
    with superuser_bypass():
        execute("DELETE FROM workflow_checkpoint WHERE id = %s", [middle.pk])
    newest = Checkpoint.objects.order_by("-size").first()
    assert_both_detect(ledger, ("checkpoint_chain_broken", {"checkpoint_size": newest.size,
                                                            "prev_size": middle.size}))


def test_a_rebuilt_checkpoint_history_is_refused_by_the_integrator_then_by_the_trust_file(ledger):
    """Every checkpoint, leaf and tile deleted, the integrator's horizon reset, and the last
    transition of a file removed: the integrator, which remembers what it signed, refuses
    to sign; rebuilt on a machine without that memory, the history no longer contains the
    checkpoint the auditor kept."""
    suspended = chain(ledger.approved)[-1]
    with superuser_bypass():
        execute("DELETE FROM workflow_ledgerleaf")
        execute("DELETE FROM ledger_ledgertile")  # the stored tree, rebuilt with the leaves
        execute("DELETE FROM workflow_checkpoint")
        execute("UPDATE workflow_integratorstate SET horizon = 0")
        execute("DELETE FROM workflow_auditentry WHERE id = %s", [suspended.pk])
        execute("UPDATE workflow_grantproject SET state = 'approved', audit_seq = audit_seq - 1 WHERE id = %s",
                [ledger.approved])
    refused = integrate_settled(force_checkpoint=True)
    assert refused.checkpoint is None and "deleted" in refused.refused
    memory.forget()
    call_command("audit", "checkpoint", "--force", stdout=io.StringIO())
    assert Checkpoint.objects.count() == 1
    assert_both_detect(ledger, ("trusted_checkpoint_missing", {"checkpoint_size": load_trust(
        str(ledger.trust)).checkpoint["size"]}))


def test_edited_checkpoint_columns_are_named_and_proofs_still_use_the_signed_size(ledger, tmp_path):
    newest = Checkpoint.objects.order_by("-size").first()
    with superuser_bypass():
        execute("UPDATE workflow_checkpoint SET size = size + 5, root_hash = %s WHERE id = %s",
                ["ab" * 32, newest.pk])
    said, code = database_report(ledger.trust)
    assert code == 1 and has(said["problems"], "checkpoint_column_differs", checkpoint_size=newest.size)
    entry = chain(ledger.approved)[-1]
    call_command("audit", "prove", str(entry.pk), str(tmp_path / "proof.json"), stdout=io.StringIO())
    done = subprocess.run([sys.executable, "-I", str(VERIFIER_SOURCE), "--proof", str(tmp_path / "proof.json"),
                           "--trust", str(ledger.trust)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "proof valid" in done.stdout, done.stdout + done.stderr


# --- 3. Rollback and fork; 6. empty is not intact --------------------------------------------


def test_a_restored_older_copy_misses_the_kept_checkpoint(ledger):
    newest = Checkpoint.objects.order_by("-size").first()
    previous = Checkpoint.objects.order_by("-size")[1]
    last = chain(ledger.approved)[-1]  # the suspension, after the previous checkpoint
    with superuser_bypass():
        execute("DELETE FROM workflow_checkpoint WHERE id = %s", [newest.pk])
        execute('DELETE FROM workflow_ledgerleaf WHERE "index" >= %s', [previous.size])
        execute("DELETE FROM workflow_auditentry WHERE id = %s", [last.pk])
        execute("UPDATE workflow_grantproject SET state = 'approved', audit_seq = audit_seq - 1, "
                "audit_head = %s WHERE id = %s", [chain(ledger.approved)[-1].entry_hash, ledger.approved])
    assert_both_detect(ledger, ("trusted_checkpoint_missing", {"checkpoint_size": newest.size}))


def test_an_emptied_ledger_is_not_intact_against_the_trust_file(ledger):
    with superuser_bypass():
        execute("TRUNCATE workflow_ledgerleaf, workflow_checkpoint, ledger_witnesscosignature, "
                "workflow_auditentry CASCADE")
    said, report = assert_both_detect(ledger, ("trusted_checkpoint_missing", {}))
    assert said["entries"] == 0 and report["entries"] == 0


# --- 7. Time -----------------------------------------------------------------------------------


def test_an_entry_dated_before_the_previous_one_of_its_chain_is_named(ledger):
    window, private_key = entry_key()
    entries = chain(ledger.approved)
    target = entries[2]
    document = json.loads(bytes(target.canonical))
    document["at"] = format_time(entries[0].created_at - timedelta(hours=1))
    canonical = canonical_bytes(document)
    digest = entry_hash(canonical)
    with superuser_bypass():
        execute("UPDATE workflow_auditentry SET canonical = %s, entry_hash = %s, signature = %s, created_at = %s "
                "WHERE id = %s", [canonical, digest, private_key.sign(bytes.fromhex(digest)),
                                  entries[0].created_at - timedelta(hours=1), target.pk])
        execute("UPDATE workflow_auditentry SET prev_hash = %s WHERE id = %s", [digest, entries[3].pk])
    assert_both_detect(ledger, ("time_backwards", {"entity_id": str(ledger.approved), "seq": 3,
                                                   "entry_id": target.pk}))


# --- 8. A bundle that does not vouch for itself -------------------------------------------------


def recompute_manifest(bundle):
    manifest = json.loads((bundle / "manifest.json").read_text())
    for name in manifest["files"]:
        manifest["files"][name] = hashlib.sha256((bundle / name).read_bytes()).hexdigest()
    (bundle / "manifest.json").write_text(json.dumps(manifest))
    return manifest


@pytest.mark.parametrize("change", ["verifier replaced", "state machines widened", "entity type removed",
                                    "entry count"])
def test_a_bundle_altered_and_its_manifest_recomputed_does_not_verify(ledger, change):
    bundle = export(ledger.tmp_path / "bundle")
    expected = ["manifest_unsigned"]
    if change == "verifier replaced":
        (bundle / "verify.py").write_text("print('ledger intact')\n")
    elif change == "state machines widened":
        machines = json.loads((bundle / "state_machines.json").read_text())
        for transition in machines[PROJECT]["transitions"]:
            transition["sources"] = ["*"]
        (bundle / "state_machines.json").write_text(json.dumps(machines))
        expected.append("definitions_mismatch")
    elif change == "entity type removed":
        live = json.loads((bundle / "live_state.json").read_text())
        del live[PROJECT]
        (bundle / "live_state.json").write_text(json.dumps(live))
    if change == "entry count":
        manifest = json.loads((bundle / "manifest.json").read_text())
        manifest["entries"] += 1
        (bundle / "manifest.json").write_text(json.dumps(manifest))
        expected.append("manifest_count_mismatch")
    else:
        recompute_manifest(bundle)
    code, report = installed_verifier(bundle, ledger.trust)
    assert code == 1, report
    for problem_code in expected:
        assert has(report["problems"], problem_code), (problem_code, report["problems"])


def test_a_file_changed_without_recomputing_the_manifest_is_tampering_not_unusable(ledger):
    bundle = export(ledger.tmp_path / "bundle")
    (bundle / "live_state.json").write_text("{}")
    code, report = installed_verifier(bundle, ledger.trust)
    assert code == 1 and "live_state.json does not match the manifest" in report["stderr"]


def test_a_forged_proof_carrying_its_own_keys_is_refused_with_the_trust_file(ledger, tmp_path):
    entry = chain(ledger.approved)[-1]
    call_command("audit", "prove", str(entry.pk), str(tmp_path / "proof.json"), stdout=io.StringIO())
    proof = json.loads((tmp_path / "proof.json").read_text())
    attacker, attacker_root = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    document = json.loads(proof["entry"]["canonical"])
    document["to"] = "launched"
    canonical = canonical_bytes(document)
    digest = entry_hash(canonical)
    statement = statement_for(public_hex(attacker), "entry", timezone.now() - timedelta(days=3000))
    key = {"id": statement["key_id"], "purpose": "entry", "public_key": statement["public_key"],
           "valid_from": statement["valid_from"], "valid_until": None,
           "certificate": certify(statement, attacker_root)}
    proof["entry"].update(canonical=canonical.decode(), hash=digest, key_id=key["id"],
                          signature=base64.b64encode(attacker.sign(bytes.fromhex(digest))).decode())
    proof["keys"].append(key)
    proof["root"] = {"id": key_id_for(public_hex(attacker_root)), "public_key": public_hex(attacker_root)}
    (tmp_path / "forged.json").write_text(json.dumps(proof))
    done = subprocess.run([sys.executable, "-I", str(VERIFIER_SOURCE), "--proof", str(tmp_path / "forged.json"),
                           "--trust", str(ledger.trust), "--json"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1, done.stdout + done.stderr
    codes = {p["code"] for p in json.loads(done.stdout)["problems"]}
    assert {"key_untrusted", "unknown_key"} <= codes


# --- 9. One location, one exit code; 10. safe rotation -------------------------------------------


def test_both_verifiers_name_an_edited_entry_the_same_way(ledger):
    target = chain(ledger.committee)[1]
    with superuser_bypass():
        execute("UPDATE workflow_auditentry SET canonical = %s WHERE id = %s",
                [bytes(target.canonical).replace(b'"to":"submitted"', b'"to":"eligible"'), target.pk])
    said, report = assert_both_detect(ledger, ("hash_mismatch", {"entry_id": target.pk}))
    first = next(p for p in said["problems"] if p["code"] == "hash_mismatch")
    again = next(p for p in report["problems"] if p["code"] == "hash_mismatch")
    assert first["where"] == again["where"] == f"entry {PROJECT}#{ledger.committee} seq 2 (id {target.pk})"


def test_a_key_taking_over_sooner_than_every_process_can_see_it_is_refused(ledger):
    before = SigningKey.objects.count()
    with pytest.raises(CommandError, match="at least 60 s from now"):
        call_command("audit", "rotate-key", "--effective-in", "0", stdout=io.StringIO(), stderr=io.StringIO())
    assert SigningKey.objects.count() == before
    call_command("audit", "rotate-key", "--effective-in", "120", stdout=io.StringIO(), stderr=io.StringIO())
    assert SigningKey.objects.count() == before + 1
    said, code = database_report(ledger.trust)
    assert code == 0, said  # the new key is certified; the old one still signs until it takes over
