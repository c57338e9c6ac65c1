"""``manage.py audit verify`` at scale: the signatures on several processes, and
``--since``, which checks only what is new after a checkpoint verified before."""

import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from ledger.evidence import verify_database
from ledger.models import AuditEntry, Checkpoint, LedgerLeaf
from tests._audit_support import committed, integrate_settled, run_audit_verify
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
