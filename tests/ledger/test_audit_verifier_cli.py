"""The standalone verifier as an auditor runs it: a copy of ``verify.py`` from an evidence
bundle, in a separate isolated interpreter (``python -I``) that cannot import Django or
the project, and its answers to unusable input: exit 2 and one line "error: ...", never
a traceback. Also the management command's refusals (``audit prove``, ``audit export``).
"""

import base64
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from ledger.models import AuditEntry
from tests._audit_support import (
    committed,
    export,
    integrate_settled,
)

VERIFIER_SOURCE = Path(__file__).resolve().parents[2] / "ledger" / "tamkeen_verify.py"

# Runs verify.py as __main__ with Django and the project made unimportable, then proves
# that nothing imported them.
ISOLATED_RUNNER = r"""
import importlib.abc, runpy, sys

class Refuse(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("django", "workflow", "config", "tests"):
            raise ImportError(f"{name} must not be imported by the standalone verifier")
        return None

sys.meta_path.insert(0, Refuse())
script, *args = sys.argv[1:]
sys.argv = [script, *args]
try:
    runpy.run_path(script, run_name="__main__")
except SystemExit as exit:
    leaked = sorted(m for m in sys.modules if m.split(".")[0] in ("django", "workflow"))
    assert not leaked, leaked
    print("django imported:", "django" in sys.modules, file=sys.stderr)
    raise
"""


def clean_env():
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "DJANGO_SETTINGS_MODULE", "DATABASE_URL")}
    env["PYTHONPATH"] = os.pathsep.join(p for p in [str(Path(sys.executable).parent)])  # not the project
    return env


def run_isolated(*args, cwd):
    """``python -I verify.py ARGS`` in a fresh interpreter: (exit code, stdout, stderr)."""
    done = subprocess.run(
        [sys.executable, "-I", *map(str, args)], cwd=cwd, env=clean_env(),
        capture_output=True, text=True, timeout=120,
    )
    return done.returncode, done.stdout, done.stderr


def refresh_manifest(bundle: Path):
    """Recompute the manifest's hashes, as a forger would, so only the content is bad."""
    manifest = json.loads((bundle / "manifest.json").read_text())
    for name in manifest["files"]:
        manifest["files"][name] = hashlib.sha256((bundle / name).read_bytes()).hexdigest()
    (bundle / "manifest.json").write_text(json.dumps(manifest))


@pytest.fixture
def bundle(make_project, cast, tmp_path):
    """An intact evidence bundle (entries written in the test's own transaction)."""
    make_project("approved")
    make_project("draft")
    return export(tmp_path / "bundle")


@committed
def test_the_bundle_verifies_in_an_isolated_interpreter_without_django(make_project, cast, tmp_path):
    make_project("approved")
    make_project("ineligible")
    integrate_settled(force_checkpoint=True)
    bundle = export(tmp_path / "evidence")
    copied = bundle / "verify.py"
    assert copied.read_bytes() == VERIFIER_SOURCE.read_bytes()
    elsewhere = tmp_path / "auditor"
    shutil.copytree(bundle, elsewhere / "bundle")  # the auditor's own copy, far from the project

    code, out, err = run_isolated(elsewhere / "bundle" / "verify.py", elsewhere / "bundle", cwd=elsewhere)
    assert code == 0, out + err
    assert "ledger intact" in out
    assert "checkpoints: 1" in out

    code, out, err = run_isolated(
        "-c", ISOLATED_RUNNER, elsewhere / "bundle" / "verify.py", elsewhere / "bundle", "--signatures",
        cwd=elsewhere,
    )
    assert code == 0, out + err
    assert f"signatures checked: {AuditEntry.objects.count()}" in out
    assert "django imported: False" in err

    # The same isolated verifier refuses the bundle once an entry is edited.
    entries = (elsewhere / "bundle" / "entries.tsv").read_bytes()
    (elsewhere / "bundle" / "entries.tsv").write_bytes(entries.replace(b'"to":"approved"', b'"to":"rejected"', 1))
    refresh_manifest(elsewhere / "bundle")
    code, out, err = run_isolated(elsewhere / "bundle" / "verify.py", elsewhere / "bundle", cwd=elsewhere)
    assert code == 1, out + err
    assert "LEDGER NOT INTACT" in out and "[hash_mismatch]" in out and "entry hash does not match its bytes" in out
    # The same as JSON: each problem's code and the entry it concerns, as fields.
    code, out, err = run_isolated(
        "-c", ISOLATED_RUNNER, elsewhere / "bundle" / "verify.py", elsewhere / "bundle", "--json", cwd=elsewhere,
    )
    assert code == 1, out + err
    assert "django imported: False" in err
    report = json.loads(out)
    assert not report["ok"]
    edited = next(p for p in report["problems"] if p["code"] == "hash_mismatch")
    line = next(n for n, text in enumerate(entries.splitlines(), 1) if b'"to":"approved"' in text)
    assert (edited["entity_type"], edited["line"]) == ("workflow.grantproject", line)
    entry = AuditEntry.objects.get(entry_hash=edited["entry_hash"])
    assert (edited["entity_id"], edited["seq"]) == (entry.entity_id, entry.seq)
    assert edited["message"] == "entry hash does not match its bytes (edited)"


@committed
def test_an_inclusion_proof_verifies_in_an_isolated_interpreter(make_project, tmp_path):
    project = make_project("approved")
    integrate_settled(force_checkpoint=True)
    bundle = export(tmp_path / "bundle")
    entry = AuditEntry.objects.for_entity(project).get(seq=5)
    proof = tmp_path / "proof.json"
    call_command("audit", "prove", str(entry.pk), str(proof), stdout=io.StringIO())
    code, out, err = run_isolated("-c", ISOLATED_RUNNER, bundle / "verify.py", "--proof", proof, cwd=tmp_path)
    assert code == 0, out + err
    assert "proof valid" in out and "django imported: False" in err
    doctored = json.loads(proof.read_text())
    doctored["index"] += 1
    (tmp_path / "doctored.json").write_text(json.dumps(doctored))
    code, out, err = run_isolated(bundle / "verify.py", "--proof", tmp_path / "doctored.json", cwd=tmp_path)
    assert code == 1 and "PROOF INVALID" in out and "Traceback" not in err


# --- Unusable input: exit 2, one line "error: ...", no traceback --------------------------


def _remove_manifest(b):
    (b / "manifest.json").unlink()


def _manifest_not_json(b):
    (b / "manifest.json").write_text("{not json")


def _manifest_of_something_else(b):
    (b / "manifest.json").write_text(json.dumps({"format": "zip", "files": {}}))


def _manifest_files_not_a_mapping(b):
    manifest = json.loads((b / "manifest.json").read_text())
    manifest["files"] = ["entries.tsv"]
    (b / "manifest.json").write_text(json.dumps(manifest))


def _truncate_entries(b):
    data = (b / "entries.tsv").read_bytes()
    (b / "entries.tsv").write_bytes(data[: len(data) // 2])


def _remove_checkpoints(b):
    (b / "checkpoints.tsv").unlink()


def _malformed_line_recomputed(b):
    with open(b / "entries.tsv", "ab") as handle:
        handle.write(b"only\tthree\tfields\n")
    refresh_manifest(b)


def _garbage_entries_recomputed(b):
    (b / "entries.tsv").write_bytes(b"\x00\xff\xfe garbage \x81\n\x13\x37 more garbage\n")
    refresh_manifest(b)


def _bad_fields_recomputed(b):
    lines = (b / "entries.tsv").read_bytes().splitlines(keepends=True)
    parts = lines[0].rstrip(b"\n").split(b"\t")
    lines[0] = b"\t".join([parts[0], b"not-hex", parts[2], b"!!not base64!!", b"seven", parts[5], parts[6]]) + b"\n"
    (b / "entries.tsv").write_bytes(b"".join(lines))
    refresh_manifest(b)


def _non_hex_hash_recomputed(b):
    lines = (b / "entries.tsv").read_bytes().splitlines(keepends=True)
    parts = lines[0].rstrip(b"\n").split(b"\t")
    lines[0] = b"\t".join([parts[0], b"zz" * 32, parts[2], parts[3], b"0", parts[5], parts[6]]) + b"\n"
    (b / "entries.tsv").write_bytes(b"".join(lines))
    refresh_manifest(b)


def _columns_not_json_recomputed(b):
    lines = (b / "entries.tsv").read_bytes().splitlines(keepends=True)
    parts = lines[0].rstrip(b"\n").split(b"\t")
    lines[0] = b"\t".join([*parts[:5], b"{this is not json", parts[6]]) + b"\n"
    (b / "entries.tsv").write_bytes(b"".join(lines))
    refresh_manifest(b)


def _malformed_checkpoint_line_recomputed(b):
    (b / "checkpoints.tsv").write_bytes(b"one field only\n")
    refresh_manifest(b)


def _state_machines_not_a_mapping_recomputed(b):
    (b / "state_machines.json").write_text(json.dumps(["workflow.grantproject"]))
    refresh_manifest(b)


def _live_state_not_a_mapping_recomputed(b):
    (b / "live_state.json").write_text(json.dumps([1, 2, 3]))
    refresh_manifest(b)


BROKEN_BUNDLES = {
    "missing manifest": (_remove_manifest, "missing file: manifest.json"),
    "manifest not JSON": (_manifest_not_json, "manifest.json is not valid JSON"),
    "not a Tamkeen manifest": (_manifest_of_something_else, "not a Tamkeen evidence bundle manifest"),
    "manifest files not a mapping": (_manifest_files_not_a_mapping, "manifest.json"),
    "missing checkpoints.tsv": (_remove_checkpoints, "missing file: checkpoints.tsv"),
    "malformed line": (_malformed_line_recomputed, "is malformed"),
    "garbage entries, manifest recomputed": (_garbage_entries_recomputed, "entries.tsv line 1 is malformed"),
    "bad hash, signature and index fields": (_bad_fields_recomputed, "entries.tsv line 1 is malformed"),
    "non-hex hash": (_non_hex_hash_recomputed, "entries.tsv line 1 is malformed"),
    "malformed checkpoint line": (_malformed_checkpoint_line_recomputed, "checkpoints.tsv line 1 is malformed"),
    "state machines not a mapping": (_state_machines_not_a_mapping_recomputed, "state_machines.json"),
    "live state not a mapping": (_live_state_not_a_mapping_recomputed, "live_state.json"),
}


def assert_clean_error(code, out, err, message):
    assert code == 2, (code, out, err)
    assert "Traceback" not in out + err, err
    lines = err.strip().splitlines()
    # One line saying what is wrong, then one saying what to do next.
    assert len(lines) == 2 and lines[0].startswith("error: ") and "run again" in lines[1], err
    assert message in lines[0], (message, lines[0])


@pytest.mark.parametrize("case", list(BROKEN_BUNDLES))
def test_a_broken_bundle_exits_2_with_one_clear_line(bundle, tmp_path, case):
    breaker, message = BROKEN_BUNDLES[case]
    broken = tmp_path / "broken"
    shutil.copytree(bundle, broken)
    breaker(broken)
    code, out, err = run_isolated(bundle / "verify.py", broken, "--quiet", cwd=tmp_path)
    assert_clean_error(code, out, err, message)


def test_a_file_that_differs_from_the_manifest_is_tampering_exit_1(bundle, tmp_path):
    """A truncated or edited bundle file is evidence that was altered, not unusable input."""
    broken = tmp_path / "broken"
    shutil.copytree(bundle, broken)
    _truncate_entries(broken)
    code, out, err = run_isolated(bundle / "verify.py", broken, "--quiet", cwd=tmp_path)
    assert code == 1, (code, out, err)
    assert "NOT INTACT: entries.tsv does not match the manifest" in err and "Traceback" not in err


def test_exported_columns_that_are_not_json_are_a_located_problem(bundle, tmp_path):
    """The columns field is evidence (what the screens showed), not framing: garbage there
    is reported against its entry, like any other column that differs from the signed bytes."""
    broken = tmp_path / "broken"
    shutil.copytree(bundle, broken)
    _columns_not_json_recomputed(broken)
    code, out, err = run_isolated(bundle / "verify.py", broken, "--quiet", cwd=tmp_path)
    assert code == 1, out + err
    assert "Traceback" not in err
    first_id = int((broken / "entries.tsv").read_bytes().splitlines()[0].split(b"\t")[6])
    assert f"seq 1 (id {first_id}): the exported columns are not valid JSON" in out
    code, out, err = run_isolated(bundle / "verify.py", broken, "--json", cwd=tmp_path)
    assert code == 1, out + err
    problem = next(p for p in json.loads(out)["problems"] if p["code"] == "columns_not_json")
    assert (problem["line"], problem["seq"]) == (1, 1)


def test_signed_fields_of_the_wrong_type_are_a_located_problem(bundle, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(bundle, broken)
    lines = (broken / "entries.tsv").read_bytes().splitlines(keepends=True)
    lines[1], replaced = re.subn(rb'"transition":"([a-z_]+)"', rb'"transition":["\1"]', lines[1], count=1)
    assert replaced == 1
    (broken / "entries.tsv").write_bytes(b"".join(lines))
    refresh_manifest(broken)
    code, out, err = run_isolated(bundle / "verify.py", broken, "--quiet", cwd=tmp_path)
    assert code == 1, out + err
    assert "Traceback" not in err
    second_id = int(lines[1].rstrip(b"\n").split(b"\t")[6])
    assert f"(id {second_id}): stored bytes have entry fields of the wrong type" in out


def test_a_missing_directory_exits_2(bundle, tmp_path):
    code, out, err = run_isolated(bundle / "verify.py", tmp_path / "no-such-bundle", cwd=tmp_path)
    assert_clean_error(code, out, err, "is not a bundle directory")


def _trust_file(tmp_path, bundle, case):
    keys = json.loads((bundle / "keys.json").read_text())
    trust = {"format": "tamkeen-trust/1", "root": keys["root"], "witnesses": [], "witness_quorum": 0,
             "checkpoint": None}
    path = tmp_path / "my-trust.json"
    if case == "not JSON":
        path.write_text("-----BEGIN PUBLIC KEY-----\nnot json\n")
    elif case == "a list":
        path.write_text(json.dumps([trust]))
    elif case == "short root key":
        trust["root"]["public_key"] = trust["root"]["public_key"][:-2]
        path.write_text(json.dumps(trust))
    elif case == "root id not derived":
        trust["root"]["id"] = "0" * 32
        path.write_text(json.dumps(trust))
    elif case == "quorum above the witnesses":
        trust["witness_quorum"] = 1
        path.write_text(json.dumps(trust))
    elif case == "missing file":
        pass
    return path


@pytest.mark.parametrize("case", ["not JSON", "a list", "short root key", "root id not derived",
                                  "quorum above the witnesses", "missing file"])
def test_a_wrong_trust_file_exits_2(bundle, tmp_path, case):
    trust = _trust_file(tmp_path, bundle, case)
    code, out, err = run_isolated(bundle / "verify.py", bundle, "--trust", trust, "--quiet", cwd=tmp_path)
    assert_clean_error(code, out, err, "my-trust.json")


def test_a_trust_file_of_another_root_says_not_intact(bundle, tmp_path):
    """Keys certified by a root the auditor does not trust are refused, and everything they
    signed is then signed by an unknown key."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from ledger.keys import key_id_for, public_hex

    other = public_hex(Ed25519PrivateKey.generate())
    (tmp_path / "other.json").write_text(json.dumps({
        "format": "tamkeen-trust/1", "root": {"id": key_id_for(other), "public_key": other}, "witnesses": [],
        "witness_quorum": 0, "checkpoint": None}))
    code, out, err = run_isolated(bundle / "verify.py", bundle, "--trust", tmp_path / "other.json", cwd=tmp_path)
    assert code == 1, out + err
    assert "key_untrusted" in out and "signed by unknown key" in out and "Traceback" not in err, out + err


def _proof_from(bundle_dir):
    """A syntactically complete proof built from the bundle's first entry (no checkpoint)."""
    line = (bundle_dir / "entries.tsv").read_bytes().splitlines()[0].split(b"\t")
    return {
        "format": "tamkeen-inclusion-proof/1",
        "entry": {"id": 1, "canonical": line[0].decode(), "hash": line[1].decode(), "key_id": line[2].decode(),
                  "signature": line[3].decode()},
        "index": 0,
        "checkpoint": {"canonical": "{}", "key_id": "x", "signature": base64.b64encode(b"x").decode()},
        "path": [],
        "keys": json.loads((bundle_dir / "keys.json").read_text())["keys"],
        "root": json.loads((bundle_dir / "keys.json").read_text())["root"],
    }


@pytest.mark.parametrize("case", ["not JSON", "a list", "missing fields", "missing file", "bad path item",
                                  "empty"])
def test_a_malformed_proof_exits_2(bundle, tmp_path, case):
    path = tmp_path / "proof.json"
    proof = _proof_from(bundle)
    if case == "not JSON":
        path.write_text("proof: yes")
    elif case == "a list":
        path.write_text("[]")
    elif case == "missing fields":
        del proof["checkpoint"]
        path.write_text(json.dumps(proof))
    elif case == "bad path item":
        proof["path"] = [42]
        path.write_text(json.dumps(proof))
    elif case == "empty":
        path.write_text("")
    code, out, err = run_isolated(bundle / "verify.py", "--proof", path, cwd=tmp_path)
    assert_clean_error(code, out, err, "proof" if case != "not JSON" else "proof.json")


def test_no_arguments_is_a_usage_error(bundle, tmp_path):
    code, out, err = run_isolated(bundle / "verify.py", cwd=tmp_path)
    assert code == 2 and "Traceback" not in err and "usage" in err


# --- The management command's refusals ---------------------------------------------------


def test_audit_prove_of_an_unknown_entry_is_a_clear_command_error(make_project, tmp_path):
    make_project("draft")
    missing = (AuditEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1000
    with pytest.raises(CommandError, match=f"no audit entry with id {missing}"):
        call_command("audit", "prove", str(missing), str(tmp_path / "p.json"), stdout=io.StringIO())
    assert not (tmp_path / "p.json").exists()


def test_audit_prove_of_an_entry_not_yet_integrated_says_what_to_do(make_project, tmp_path):
    project = make_project("draft")
    entry = AuditEntry.objects.for_entity(project).get()
    with pytest.raises(CommandError, match="not integrated yet: run 'manage.py audit checkpoint'"):
        call_command("audit", "prove", str(entry.pk), str(tmp_path / "p.json"), stdout=io.StringIO())


@committed
def test_audit_prove_into_a_missing_directory_is_a_clear_command_error(make_project, tmp_path):
    project = make_project("draft")
    integrate_settled(force_checkpoint=True)
    entry = AuditEntry.objects.for_entity(project).get()
    with pytest.raises(CommandError, match="cannot write the proof to"):
        call_command("audit", "prove", str(entry.pk), str(tmp_path / "no" / "such" / "p.json"), stdout=io.StringIO())


def test_audit_export_into_an_existing_directory_is_refused(make_project, tmp_path):
    make_project("draft")
    target = tmp_path / "exists"
    target.mkdir()
    (target / "keep.txt").write_text("mine")
    with pytest.raises(CommandError, match="already exists"):
        call_command("audit", "export", str(target), stdout=io.StringIO(), stderr=io.StringIO())
    assert [p.name for p in target.iterdir()] == ["keep.txt"]
