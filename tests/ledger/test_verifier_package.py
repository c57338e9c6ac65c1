"""The auditor's verifier is a package of its own (``verifier/``): it builds into a wheel
that depends only on ``cryptography``, and its ``tamkeen-verify`` command, installed
apart from the project, verifies an exported bundle against the auditor's trust file."""

import io
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from django.core.management import call_command

from tests._audit_support import committed, export, integrate_settled

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """The wheel, built from ``verifier/`` and installed into a directory of its own."""
    wheels, target = tmp_path_factory.mktemp("wheels"), tmp_path_factory.mktemp("site")
    # Built from a copy (the module's link followed): a build writes build/ and
    # *.egg-info beside its sources, never in the repository's tree.
    source = tmp_path_factory.mktemp("source") / "verifier"
    shutil.copytree(ROOT / "verifier", source, ignore=shutil.ignore_patterns("tests", "build", "*.egg-info"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), str(source)],
                   check=True, capture_output=True, timeout=300)
    (wheel,) = wheels.glob("tamkeen_verify-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        metadata = next(archive.read(n).decode() for n in archive.namelist() if n.endswith("METADATA"))
        entry_points = next(archive.read(n).decode() for n in archive.namelist() if n.endswith("entry_points.txt"))
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
                   check=True, capture_output=True, timeout=300)
    return target, metadata, entry_points


def run_installed(target, *args):
    """``tamkeen-verify ARGS`` from the installed copy, in an isolated interpreter that
    cannot import the project (only the installed module and ``cryptography``)."""
    runner = ("import sys; sys.path[:0] = [sys.argv.pop(1)]; import tamkeen_verify; "
              "assert 'django' not in sys.modules; sys.exit(tamkeen_verify.main(sys.argv[1:]))")
    return subprocess.run([sys.executable, "-I", "-c", runner, str(target), *map(str, args)], capture_output=True,
                          text=True, timeout=120, cwd="/")


def test_the_wheel_needs_only_cryptography_and_names_its_command(installed):
    _target, metadata, entry_points = installed
    requirements = [line for line in metadata.splitlines() if line.startswith("Requires-Dist:")]
    assert requirements == ["Requires-Dist: cryptography>=42"]
    assert "tamkeen-verify = tamkeen_verify:main" in entry_points


@committed
def test_the_installed_verifier_checks_a_bundle_against_the_trust_file(installed, make_project, tmp_path):
    target, _metadata, _entry_points = installed
    make_project("approved")
    integrate_settled(force_checkpoint=True)
    trust = tmp_path / "trust.json"
    call_command("audit", "trust", "--out", str(trust), stdout=io.StringIO())
    bundle = export(tmp_path / "bundle")
    done = run_installed(target, bundle, "--trust", trust, "--signatures", "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert report["ok"] and report["trust"] == "trust file" and report["signatures_checked"] > 0
    # The bundle's own copy of verify.py is replaced by one that always says "intact":
    # the installed copy does not run it, and the manifest no longer matches.
    (bundle / "verify.py").write_text("print('ledger intact')\n")
    done = run_installed(target, bundle, "--trust", trust)
    assert done.returncode == 1 and "verify.py does not match the manifest" in done.stderr
