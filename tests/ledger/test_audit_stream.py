"""``manage.py audit verify`` at scale: the signatures on several processes, and
``--since``, which checks only what is new after a checkpoint verified before."""

import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from ledger.evidence import verify_database
from ledger.models import AuditEntry, Checkpoint, LedgerLeaf
from tests._audit_support import committed, export, integrate_settled, run_audit_verify
from tests.ledger.test_audit_ledger import churn


@committed
def test_the_signatures_checked_on_several_processes_are_every_one(make_project, cast):
    make_project("approved")
    integrate_settled(force_checkpoint=True)
    churn(make_project("draft"), cast, 3)  # and entries not yet in a checkpoint
    report = verify_database(full=True, workers=2)
    assert report.ok, report.summary()
    assert report.signatures_checked == AuditEntry.objects.count()
    ok, output = run_audit_verify("--full", "--workers", "2")
    assert ok and f"signatures checked: {AuditEntry.objects.count()}" in output, output


@pytest.fixture
def two_checkpoints(make_project, cast):
    """Two projects in the first checkpoint; then only ``moving`` goes on, into a second
    checkpoint and past it. Returns (the first checkpoint, moving, still)."""
    moving, still = make_project("approved"), make_project("approved")
    integrate_settled(force_checkpoint=True)
    first = Checkpoint.objects.get()
    churn(moving, cast, 4)
    integrate_settled(force_checkpoint=True)
    churn(moving, cast, 2)  # not in a checkpoint yet
    return first, moving, still


@committed
def test_since_a_checkpoint_only_the_chains_with_newer_entries_are_read(two_checkpoints):
    first, moving, _still = two_checkpoints
    report = verify_database(since=first.size, full=True)
    assert report.ok, report.summary()
    chain = AuditEntry.objects.filter(entity_type="workflow.grantproject", entity_id=str(moving.pk)).count()
    assert report.entries == chain < AuditEntry.objects.count()  # that chain whole, nothing else
    assert report.signatures_checked == chain
    assert report.since == {"size": first.size, "root": first.root_hash, "chains": 1}
    assert report.checkpoints == 1  # the later one (the first is the base)
    assert report.uncheckpointed == 2
    assert verify_database(since=f"id:{first.pk}").since["size"] == first.size


@committed
def test_audit_verify_since_says_what_it_checked_and_refuses_an_unknown_checkpoint(two_checkpoints, tmp_path):
    first, _moving, _still = two_checkpoints
    ok, output = run_audit_verify("--since", str(first.size))
    assert ok and "only what is new since the checkpoint of size" in output, output
    out = io.StringIO()
    call_command("audit", "verify", "--since", str(first.size), "--json", stdout=out)
    assert json.loads(out.getvalue())["since"]["chains"] == 1
    for wrong in ("999999", "id:0", "soon"):
        with pytest.raises(CommandError) as refused:
            call_command("audit", "verify", "--since", wrong, stdout=io.StringIO(), stderr=io.StringIO())
        assert refused.value.returncode == 2
    with pytest.raises(CommandError) as refused:
        call_command("audit", "verify", "--since", "trust", stdout=io.StringIO())
    assert refused.value.returncode == 2 and "--trust" in str(refused.value)
    with pytest.raises(CommandError) as refused:
        call_command("audit", "verify", "--since", str(first.size), "--trust", str(tmp_path / "t.json"),
                     "--update-trust", stdout=io.StringIO())
    assert refused.value.returncode == 2 and "--since trust" in str(refused.value)


@committed
def test_since_the_trust_files_checkpoint(two_checkpoints, tmp_path, settings):
    first, _moving, _still = two_checkpoints
    trust = tmp_path / "trust.json"
    call_command("audit", "trust", "--out", str(trust), stdout=io.StringIO())
    # The trust file keeps the newest checkpoint: what is new since is the two entries after it.
    ok, output = run_audit_verify("--trust", str(trust), "--since", "trust")
    assert ok, output
    assert "not yet in a checkpoint: 2" in output


@committed
def test_since_a_checkpoint_whose_leaves_no_longer_give_its_root(two_checkpoints, monkeypatch):
    """The base checkpoint is checked against the leaves below it (one column read):
    a rewritten history before it is found even though those chains are not replayed."""
    from ledger import evidence

    first, _moving, _still = two_checkpoints
    real = evidence.leaf_hash
    monkeypatch.setattr(evidence, "leaf_hash", lambda digest: real("0" * 64 if digest == first_digest else digest))
    first_digest = LedgerLeaf.objects.get(index=1).entry.entry_hash
    report = verify_database(since=first.size)
    # The base's root, and then the later checkpoint's (its tree grows from the base's).
    assert [(p.code, p.checkpoint_size) for p in report.problems][0] == ("checkpoint_root_mismatch", first.size)
    assert {p.code for p in report.problems} == {"checkpoint_root_mismatch"}


@committed
def test_the_exported_live_states_are_those_of_live_states_byte_for_byte(two_checkpoints, make_project, tmp_path):
    """``audit export`` writes live_state.json a chunk of rows at a time, in the order of
    the ids as text: the same bytes as the whole dict dumped with sorted keys."""
    from ledger.machines import live_states

    for _ in range(9):  # ids 1..12 or so: "10" sorts before "2" as text
        make_project("draft")
    bundle = export(tmp_path / "bundle")
    written = (bundle / "live_state.json").read_text()
    assert written == json.dumps(live_states(), sort_keys=True)
    assert len(json.loads(written)["workflow.grantproject"]) >= 11


@committed
def test_audit_verify_reads_the_ledger_chain_by_chain_and_reports_as_the_bundle_does(two_checkpoints, tmp_path):
    """The database is verified chain by chain (each chain compared with its live row and
    forgotten), a bundle in insertion order: with several problems at once, both report
    the same ones in the same order."""
    from contextlib import nullcontext

    from django.db import connection

    from ledger.models import entity_type_of
    from ledger.tamkeen_verify import verify_bundle
    from tests._audit_support import superuser_bypass

    _first, moving, still = two_checkpoints
    newest = AuditEntry.objects.filter(entity_id=str(moving.pk), entity_type=entity_type_of(moving)).latest("seq")
    older = AuditEntry.objects.filter(entity_id=str(still.pk), entity_type=entity_type_of(still)).latest("seq")
    tampering = [
        ("UPDATE workflow_grantproject SET state = 'draft' WHERE id = %s", [still.pk]),  # no entry
        ("UPDATE workflow_auditentry SET actor_role = 'intruder' WHERE id = %s", [newest.pk]),  # a column
        ("UPDATE workflow_auditentry SET entry_hash = %s WHERE id = %s", ["0" * 64, older.pk]),  # a hash
    ]
    with superuser_bypass() if connection.vendor == "postgresql" else nullcontext(), connection.cursor() as cursor:
        for sql, params in tampering:
            cursor.execute(sql, params)
    report = verify_database()
    bundle = verify_bundle(str(export(tmp_path / "bundle")))

    def named(problems):
        return [(p.code, p.entity_type, p.entity_id, p.seq, p.entry_hash, p.checkpoint_size) for p in problems]

    assert {"live_state_mismatch", "column_differs", "hash_mismatch"} <= {p.code for p in report.problems}
    assert named(report.problems) == named(bundle.problems)
    assert report.problems[0].entry_id == older.pk < newest.pk
