"""The signed audit ledger (DESIGN.md §6): canonical bytes, per-entity chains, signatures,
append-only models, the RFC 6962 Merkle tree, the integrator, verification, proofs and
key rotation. Runs on SQLite and PostgreSQL.

Tests that integrate entries commit them (``transaction=True``): on PostgreSQL the
integrator only takes entries of transactions older than every running snapshot, so
entries written inside a test's own open transaction would (rightly) never be taken.
"""

import base64
import contextlib
import hashlib
import io
import json
import re
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone as dj_timezone

from ledger import writes
from ledger.canonical import canonical_bytes, format_time
from ledger.entries import record_transition
from ledger.evidence import export_bundle, inclusion_proof, verify_database
from ledger.keys import KEYRING, key_id_for, key_windows, register_key, rotate_key, signer_for
from ledger.machines import definitions
from ledger.models import AppendOnlyError, AuditEntry, Checkpoint, LedgerLeaf, SigningKey
from ledger.payload import to_jsonable
from ledger.tamkeen_verify import (
    EMPTY_ROOT,
    definitions_digest,
    frontier_append,
    frontier_from_json,
    frontier_root,
    frontier_to_json,
    inclusion_path,
    leaf_hash,
    merkle_root,
    root_from_inclusion_path,
    verify_bundle,
    verify_proof,
)
from tests._audit_support import (
    PROJECT,
    chain,
    checkpoint_document,
    checkpoint_private_key,
    committed,
    export,
    insert_checkpoint,
    integrate_settled,
    rotate_now,
    run_audit_verify,
    standalone,
    tree_root,
)
from workflow import services
from workflow.models import GrantProject

ARABIC_REASON = "وثائق قيد التحقق — ملف رقم ٣"
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


def churn(project, cast, transitions, reason="Vérification des pièces."):
    """``transitions`` real suspend/resume transitions of a draft (or active) project."""
    for i in range(transitions):
        if GrantProject.objects.get(pk=project.pk).state == "suspended":
            services.project_resume(project_id=project.pk, actor=cast.officer, note=f"n{i}")
        else:
            services.project_suspend(project_id=project.pk, actor=cast.officer, reason=reason)


# --- Canonical bytes -------------------------------------------------------------------


def test_canonical_bytes_are_sorted_compact_utf8_with_decimals_as_strings():
    document = {"b": 1, "a": {"z": "٣", "y": [1, 2]}, "amount": to_jsonable(Decimal("60000.50")),
                "reason": ARABIC_REASON}
    data = canonical_bytes(document)
    assert data == (
        '{"a":{"y":[1,2],"z":"٣"},"amount":"60000.50","b":1,"reason":"' + ARABIC_REASON + '"}'
    ).encode("utf-8")
    assert b"\\u" not in data and b", " not in data and b": " not in data
    # Key order of the input does not matter.
    assert canonical_bytes(dict(reversed(list(document.items())))) == data


def test_payload_values_become_strings_never_floats():
    assert to_jsonable({"n": Decimal("1.10"), "d": datetime(2025, 3, 1, 10, 0, tzinfo=UTC)}) == {
        "n": "1.10", "d": "2025-03-01T10:00:00.000000+00:00"
    }
    with pytest.raises(TypeError):
        to_jsonable({"x": 1.5})


def test_times_are_utc_with_microseconds():
    casablanca_summer = timezone(timedelta(hours=1))
    assert format_time(datetime(2025, 3, 1, 10, 30, tzinfo=casablanca_summer)) == "2025-03-01T09:30:00.000000Z"
    assert format_time(datetime(2025, 3, 1, 9, 30, 0, 7, tzinfo=UTC)) == "2025-03-01T09:30:00.000007Z"


def test_a_real_entry_stores_exact_canonical_bytes(make_project, cast):
    project = make_project("approved")
    services.project_suspend(project_id=project.pk, actor=cast.officer, reason=ARABIC_REASON)
    entries = chain(project)
    assert [(e.seq, e.transition, e.from_state, e.to_state) for e in entries] == [
        (1, "create", "", "draft"),
        # the three documents the program requires, each sealed on the chain
        (2, "attach_document", "draft", "draft"), (3, "attach_document", "draft", "draft"),
        (4, "attach_document", "draft", "draft"),
        (5, "submit", "draft", "submitted"), (6, "screen_ok", "submitted", "eligible"),
        (7, "schedule", "eligible", "in_committee"), (8, "decide_approve", "in_committee", "approved"),
        (9, "suspend", "approved", "suspended"),
    ]
    suspend = entries[-1]
    raw = bytes(suspend.canonical)
    document = json.loads(raw)
    assert raw == json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    assert list(document) == sorted(document)
    assert ARABIC_REASON.encode("utf-8") in raw
    assert document["v"] == 1
    assert TIMESTAMP.match(document["at"])
    assert document["payload"] == {"reason": ARABIC_REASON}
    assert suspend.entry_hash == hashlib.sha256(raw).hexdigest()
    approval = json.loads(bytes(entries[-2].canonical))
    assert approval["transition"] == "decide_approve"
    assert approval["payload"]["amount"] == "60000.00"  # a Decimal, signed as a string
    creation = json.loads(bytes(entries[0].canonical))
    assert creation["payload"]["beneficiary"].startswith("hmac-sha256:")  # no CIN in clear
    assert project.beneficiary.cin not in raw.decode() + bytes(entries[0].canonical).decode()


def test_record_transition_signs_decimals_as_strings(make_project, cast):
    project = make_project("draft")
    with transaction.atomic():
        entry = record_transition(
            entity=project, transition="note", from_state="draft", to_state="draft", actor=cast.officer,
            role="program_officer", payload={"amount": Decimal("1234.50"), "when": dj_timezone.now()},
        )
    document = json.loads(bytes(entry.canonical))
    assert document["payload"]["amount"] == "1234.50"
    assert b'"amount":"1234.50"' in bytes(entry.canonical)


@committed
def test_record_transition_refuses_to_run_outside_a_transaction(make_project, cast):
    project = make_project("draft")
    before = AuditEntry.objects.count()
    with pytest.raises(RuntimeError, match="inside the transition's transaction"):
        record_transition(entity=project, transition="x", from_state="draft", to_state="draft",
                          actor=cast.officer, role="program_officer")
    assert AuditEntry.objects.count() == before


# --- Chains, signatures, columns -------------------------------------------------------


def test_chains_are_contiguous_and_linked(make_project, cast):
    projects = [make_project("approved"), make_project("submitted"), make_project("draft")]
    churn(projects[2], cast, 3)
    for project in projects:
        entries = chain(project)
        assert [e.seq for e in entries] == list(range(1, len(entries) + 1))
        assert entries[0].prev_hash == "0" * 64
        for previous, entry in zip(entries, entries[1:], strict=False):
            assert entry.prev_hash == previous.entry_hash
            assert json.loads(bytes(entry.canonical))["prev"] == previous.entry_hash
        assert entries[-1].to_state == GrantProject.objects.get(pk=project.pk).state


def test_every_entry_signature_verifies_with_its_keys_public_key(make_project, cast):
    make_project("approved")
    keys = {k.key_id: k for k in SigningKey.objects.all()}
    entries = list(AuditEntry.objects.all())
    assert entries
    for entry in entries:
        key = keys[entry.key_id]
        assert key.purpose == "entry"
        assert key_id_for(key.public_key) == entry.key_id
        public = Ed25519PublicKey.from_public_bytes(bytes.fromhex(key.public_key))
        public.verify(bytes(entry.signature), bytes.fromhex(entry.entry_hash))  # raises if bad
        with pytest.raises(InvalidSignature):
            public.verify(bytes(entry.signature), bytes.fromhex("00" * 32))


def test_columns_equal_the_signed_values(make_project, cast):
    project = make_project("approved")
    services.project_suspend(project_id=project.pk, actor=cast.officer, reason=ARABIC_REASON)
    for entry in AuditEntry.objects.all():
        document = json.loads(bytes(entry.canonical))
        assert document.pop("v") == 1
        assert entry.column_values() == document
    last = chain(project)[-1]
    assert (last.actor_id, last.actor_role, last.transition, last.from_state, last.to_state) == (
        cast.officer.pk, "program_officer", "suspend", "approved", "suspended"
    )


def test_a_rolled_back_transition_leaves_no_entry(make_project, cast, monkeypatch):
    project = make_project("draft")
    before = AuditEntry.objects.count()
    before_chain = [e.entry_hash for e in chain(project)]

    write = writes.write_transition

    def write_then_fail(*args, **kwargs):
        write(*args, **kwargs)
        raise RuntimeError("disk full")

    # The entry and the project's row are written, then the transaction fails: both
    # must roll back.
    monkeypatch.setattr(writes, "write_transition", write_then_fail)
    with pytest.raises(RuntimeError, match="disk full"):
        services.project_suspend(project_id=project.pk, actor=cast.officer, reason="test")
    monkeypatch.undo()
    assert AuditEntry.objects.count() == before
    assert GrantProject.objects.get(pk=project.pk).state == "draft"
    # The next real transition continues the chain with no hole.
    services.project_suspend(project_id=project.pk, actor=cast.officer, reason="test")
    entries = chain(project)
    assert [e.entry_hash for e in entries[:-1]] == before_chain
    assert entries[-1].seq == len(before_chain) + 1
    assert entries[-1].prev_hash == before_chain[-1]


@committed
def test_the_model_layer_refuses_updates_and_deletes(make_project):
    make_project("draft")
    integrate_settled(force_checkpoint=True)
    entry = AuditEntry.objects.first()
    entry.to_state = "approved"
    with pytest.raises(AppendOnlyError):
        entry.save()
    with pytest.raises(AppendOnlyError):
        entry.delete()
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.filter(pk=entry.pk).update(to_state="approved")
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.all().delete()
    with pytest.raises(AppendOnlyError), transaction.atomic():  # bulk_update opens no savepoint
        AuditEntry.objects.bulk_update([entry], ["to_state"])
    for model in (LedgerLeaf, Checkpoint, SigningKey):
        row = model.objects.first()
        assert row is not None, model
        with pytest.raises(AppendOnlyError):
            row.save()
        with pytest.raises(AppendOnlyError):
            row.delete()
        with pytest.raises(AppendOnlyError):
            model.objects.all().delete()
        with pytest.raises(AppendOnlyError):
            model.objects.all().update(pk=row.pk)
    assert AuditEntry.objects.get(pk=entry.pk).to_state == "draft"


# --- Merkle tree (RFC 6962), against a naive recursive implementation ------------------


def naive_mth(data: list[bytes]) -> bytes:
    n = len(data)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return hashlib.sha256(b"\x00" + data[0]).digest()
    k = 1
    while k * 2 < n:
        k *= 2
    return hashlib.sha256(b"\x01" + naive_mth(data[:k]) + naive_mth(data[k:])).digest()


def naive_path(m: int, data: list[bytes]) -> list[bytes]:
    n = len(data)
    if n == 1:
        return []
    k = 1
    while k * 2 < n:
        k *= 2
    if m < k:
        return naive_path(m, data[:k]) + [naive_mth(data[k:])]
    return naive_path(m - k, data[k:]) + [naive_mth(data[:k])]


def test_merkle_helpers_match_a_naive_rfc6962_tree_for_sizes_1_to_70():
    data = [hashlib.sha256(f"entry {i}".encode()).digest() for i in range(70)]
    leaves = [leaf_hash(d.hex()) for d in data]
    assert merkle_root([]) == EMPTY_ROOT == naive_mth([])
    frontier: list = []
    for size in range(1, 71):
        frontier_append(frontier, leaves[size - 1])
        expected = naive_mth(data[:size])
        assert merkle_root(leaves[:size]) == expected, size
        assert frontier_root(frontier) == expected, size
        assert frontier_root(frontier_from_json(frontier_to_json(frontier))) == expected, size
        assert [s for s, _ in frontier] == [1 << b for b in range(size.bit_length()) if size >> b & 1][::-1]
        for index in range(size):
            path = inclusion_path(leaves[:size], index)
            assert path == naive_path(index, data[:size]), (size, index)
            assert root_from_inclusion_path(leaves[index], index, size, path) == expected, (size, index)
            if path:
                flipped = [bytes([path[0][0] ^ 1]) + path[0][1:], *path[1:]]
                assert root_from_inclusion_path(leaves[index], index, size, flipped) != expected
            other = (index + 1) % size
            if other != index:
                # A path of the wrong length for that index is refused outright.
                with contextlib.suppress(ValueError):
                    assert root_from_inclusion_path(leaves[index], other, size, path) != expected
        with pytest.raises(ValueError):
            root_from_inclusion_path(leaves[0], size, size, [])


def test_leaf_and_node_hashes_use_the_rfc6962_prefixes():
    digest = "ab" * 32
    assert leaf_hash(digest) == hashlib.sha256(b"\x00" + bytes.fromhex(digest)).digest()
    left, right = b"\x01" * 32, b"\x02" * 32
    assert merkle_root([left, right]) == hashlib.sha256(b"\x01" + left + right).digest()


# --- The integrator ---------------------------------------------------------------------


def _assert_checkpoints_match_from_scratch_roots():
    for checkpoint in Checkpoint.objects.all():
        assert checkpoint.root_hash == tree_root(checkpoint.size), checkpoint.size
        document = json.loads(bytes(checkpoint.canonical))
        previous = Checkpoint.objects.filter(size__lt=checkpoint.size).order_by("-size").first()
        assert document == {"v": 2, "size": checkpoint.size, "root": checkpoint.root_hash,
                            "at": format_time(checkpoint.created_at), "key": checkpoint.key_id,
                            "prev_size": previous.size if previous else 0,
                            "prev_root": previous.root_hash if previous else EMPTY_ROOT.hex(),
                            "definitions": definitions_digest(definitions())}


@committed
def test_the_integrator_indexes_every_entry_and_signs_checkpoints_every_n_entries(make_project, cast):
    project = make_project("draft")
    churn(project, cast, 59)
    total = AuditEntry.objects.count()
    assert total == 60

    # One run takes everything settled and signs a checkpoint every 50 entries as it goes.
    first = integrate_settled(every_entries=50, every_seconds=3600)
    assert first.integrated == 60 and first.tree_size == 60
    assert first.checkpoint is not None and first.checkpoint.size == 50 and first.checkpoints == 1

    again = integrate_settled(every_entries=50, every_seconds=3600)
    assert (again.integrated, again.tree_size, again.checkpoint) == (0, 60, None)

    churn(project, cast, 30)
    partial = integrate_settled(every_entries=50, every_seconds=3600)
    assert (partial.integrated, partial.tree_size, partial.checkpoint) == (30, 90, None)
    assert LedgerLeaf.objects.count() == 90
    churn(project, cast, 25)
    due = integrate_settled(every_entries=50, every_seconds=3600)
    assert (due.integrated, due.tree_size) == (25, 115)
    assert due.checkpoint is not None and due.checkpoint.size == 100  # 50 after the one of 50

    churn(project, cast, 3)
    assert integrate_settled(every_entries=50, every_seconds=3600).checkpoint is None
    forced = integrate_settled(force_checkpoint=True, every_entries=50, every_seconds=3600)
    assert forced.checkpoint is not None and forced.checkpoint.size == 118
    assert integrate_settled(force_checkpoint=True).checkpoint is None  # nothing new: nothing to sign

    assert list(Checkpoint.objects.values_list("size", flat=True)) == [50, 100, 118]
    leaves = list(LedgerLeaf.objects.order_by("index").values_list("index", "entry_id"))
    assert [i for i, _ in leaves] == list(range(118))
    assert sorted(e for _, e in leaves) == sorted(AuditEntry.objects.values_list("id", flat=True))
    # Incremental roots (from the stored frontier) equal roots rebuilt from scratch.
    _assert_checkpoints_match_from_scratch_roots()
    assert verify_database(full=True).ok


@committed
def test_the_integrator_does_not_trust_a_planted_checkpoints_frontier(make_project, cast):
    """Plain INSERT rights (no trigger bypass) are enough to add a checkpoint row. A planted,
    unsigned checkpoint with a bogus frontier must not make the integrator sign a wrong root."""
    project = make_project("draft")
    real = integrate_settled(force_checkpoint=True).checkpoint
    planted_at = real.created_at + timedelta(microseconds=1)
    Checkpoint(
        size=real.size, root_hash=real.root_hash, created_at=planted_at, key_id=real.key_id,
        canonical=checkpoint_document(real.size, real.root_hash, planted_at, real.key_id),
        signature=b"x" * 64, frontier=[[real.size, "00" * 32]],
    ).save()
    churn(project, cast, 2)
    signed = integrate_settled(force_checkpoint=True).checkpoint
    assert signed.root_hash == tree_root(signed.size)
    problems = verify_database().problems
    assert [(p.code, p.checkpoint_size) for p in problems] == [("checkpoint_bad_signature", real.size)], problems
    assert problems[0].checkpoint_at == format_time(planted_at)


@committed
def test_the_integrator_signs_after_t_seconds(make_project, cast):
    project = make_project("draft")
    integrate_settled(every_entries=1000, every_seconds=3600)
    churn(project, cast, 2)
    assert integrate_settled(every_entries=1000, every_seconds=3600).checkpoint is None
    churn(project, cast, 1)
    checkpoint = integrate_settled(every_entries=1000, every_seconds=0).checkpoint
    assert checkpoint is not None and checkpoint.size == 4
    _assert_checkpoints_match_from_scratch_roots()


@committed
def test_checkpoint_signatures_verify_with_the_checkpoint_key(make_project):
    make_project("submitted")
    checkpoint = integrate_settled(force_checkpoint=True).checkpoint
    key = SigningKey.objects.get(key_id=checkpoint.key_id)
    assert key.purpose == "checkpoint"
    entry_keys = set(AuditEntry.objects.values_list("key_id", flat=True))
    assert checkpoint.key_id not in entry_keys  # a separate key from the entries'
    Ed25519PublicKey.from_public_bytes(bytes.fromhex(key.public_key)).verify(
        bytes(checkpoint.signature), bytes(checkpoint.canonical)
    )


# --- Verification, proofs, export -------------------------------------------------------


@committed
def test_audit_verify_passes_on_an_untouched_ledger(make_project, cast):
    make_project("approved")
    make_project("ineligible")
    integrate_settled(force_checkpoint=True)
    churn(make_project("draft"), cast, 2)  # and some entries not yet in a checkpoint
    ok, output = run_audit_verify()
    assert ok, output
    assert "ledger intact" in output
    ok, output = run_audit_verify("--full")
    assert ok, output
    assert re.search(r"signatures checked: [1-9]", output)
    report = verify_database(full=True)
    assert report.ok and report.problems == []
    assert report.uncheckpointed == 3


@committed
def test_an_inclusion_proof_verifies_offline_and_a_doctored_one_does_not(make_project, cast, tmp_path):
    project = make_project("approved")
    make_project("submitted")
    integrate_settled(force_checkpoint=True)
    decision = next(e for e in chain(project) if e.transition == "decide_approve")
    out = tmp_path / "proof.json"
    call_command("audit", "prove", str(decision.pk), str(out), stdout=io.StringIO())
    proof = json.loads(out.read_text())
    assert proof["index"] == decision.leaf.index
    assert json.loads(proof["entry"]["canonical"])["transition"] == "decide_approve"
    assert verify_proof(proof) == []
    assert standalone(["--proof", out])[0] == 0
    assert len(out.read_bytes()) < 4096

    flipped = json.loads(json.dumps(proof))
    first = bytearray(base64.b64decode(flipped["path"][0]))
    first[0] ^= 1
    flipped["path"][0] = base64.b64encode(bytes(first)).decode()
    assert [p.code for p in verify_proof(flipped)] == ["proof_path_invalid"]
    (tmp_path / "flipped.json").write_text(json.dumps(flipped))
    code, output = standalone(["--proof", tmp_path / "flipped.json"])
    assert code == 1 and "PROOF INVALID: [proof_path_invalid]" in output
    code, output = standalone(["--proof", tmp_path / "flipped.json", "--json"])
    said = json.loads(output)
    assert code == 1 and not said["valid"]
    assert [(p["code"], p["entry_id"], p["seq"], p["index"]) for p in said["problems"]] == [
        ("proof_path_invalid", decision.pk, decision.seq, proof["index"])]

    for wrong in (proof["index"] + 1, proof["index"] - 1):
        moved = dict(proof, index=wrong)
        assert "proof_path_invalid" in [p.code for p in verify_proof(moved)], wrong

    other = json.loads(json.dumps(proof))
    other["entry"]["canonical"] = other["entry"]["canonical"].replace("decide_approve", "decide_reject")
    assert {"hash_mismatch", "proof_path_invalid"} <= {p.code for p in verify_proof(other)}

    # The proof is of the latest checkpoint covering the entry, here the only one.
    assert inclusion_proof(decision.pk)["checkpoint"]["canonical"] == bytes(
        Checkpoint.objects.get().canonical).decode()


@committed
def test_export_and_the_standalone_verifier_accept_an_intact_ledger(make_project, cast, tmp_path):
    make_project("approved")
    project = make_project("draft")
    integrate_settled(force_checkpoint=True)
    churn(project, cast, 3)
    bundle = export(tmp_path / "bundle")
    manifest = json.loads((bundle / "manifest.json").read_text())
    assert manifest["entries"] == AuditEntry.objects.count()
    assert manifest["checkpoints"] == 1
    live = json.loads((bundle / "live_state.json").read_text())
    row = GrantProject.objects.get(pk=project.pk)
    last = chain(project)[-1]
    assert live[PROJECT][str(project.pk)] == {
        "state": row.state, "seq": last.seq, "head": last.entry_hash, "requested_amount": format(row.requested_amount, "f"),
        "own_contribution": format(row.own_contribution, "f"), "approved_amount": None, "decision_conditions": "",
        "program": row.program.code, "created_by": row.created_by_id, "assigned_agent": None, "submitted_by": None,
        "eligibility_failures": [], "state_before_suspension": row.state_before_suspension, "outcome": "",
        "closure_reason": "",
    }
    code, output = standalone([bundle])
    assert code == 0, output
    assert "ledger intact" in output
    report = verify_bundle(str(bundle), check_signatures=True)
    assert report.ok, report.summary()
    assert report.signatures_checked == AuditEntry.objects.count()
    assert report.uncheckpointed == 3


def test_verification_and_export_run_inside_a_callers_open_transaction(make_project, tmp_path):
    # The test's own transaction has already run queries: on PostgreSQL the isolation
    # level can no longer be set, and verification must still work (e.g. in a view).
    make_project("approved")
    assert verify_database(full=True).ok
    export_bundle(tmp_path / "bundle")
    assert verify_bundle(str(tmp_path / "bundle")).ok


# --- Key rotation ------------------------------------------------------------------------


@committed
def test_a_ledger_signed_by_three_successive_entry_keys_verifies(make_project, cast, tmp_path):
    project = make_project("draft")
    churn(project, cast, 2)
    first_key = set(AuditEntry.objects.values_list("key_id", flat=True))
    for _batch in range(2):
        rotate_now("entry")
        churn(project, cast, 2)
    integrate_settled(force_checkpoint=True)
    key_ids = list(AuditEntry.objects.order_by("id").values_list("key_id", flat=True))
    assert len(set(key_ids)) == 3
    assert key_ids[:3] == [next(iter(first_key))] * 3
    windows = key_windows("entry")
    assert [w.key_id for w in windows] == list(dict.fromkeys(key_ids))  # oldest first
    assert windows[0].valid_until == windows[1].valid_from and windows[2].valid_until is None
    for entry in AuditEntry.objects.all():
        window = next(w for w in windows if w.key_id == entry.key_id)
        assert window.covers(entry.created_at)
    assert verify_database(full=True).ok
    bundle = export(tmp_path / "bundle")
    keys = json.loads((bundle / "keys.json").read_text())["keys"]
    assert {k["id"] for k in keys if k["purpose"] == "entry"} == set(key_ids)  # retired keys kept
    report = verify_bundle(str(bundle), check_signatures=True)
    assert report.ok, report.summary()
    assert report.signatures_checked == len(key_ids)


@committed
def test_a_checkpoint_signed_by_a_superseded_key_fails(make_project, cast, tmp_path):
    project = make_project("draft")
    real = integrate_settled(force_checkpoint=True).checkpoint
    old_key_id = real.key_id
    old_private = checkpoint_private_key(old_key_id)
    rotate_now("checkpoint")
    churn(project, cast, 2)
    integrate_settled(every_entries=1000, every_seconds=3600)  # leaves, no checkpoint yet
    assert verify_database().ok
    size = LedgerLeaf.objects.count()
    # The right root, but signed after the old key was superseded, with the old key
    # (a stale integrator, or a thief of the retired key).
    forged = insert_checkpoint(size, tree_root(size), dj_timezone.now(), old_key_id, old_private)
    report = verify_database()
    assert not report.ok
    assert any((p.code, p.checkpoint_size, p.detail.get("key_id")) == ("checkpoint_outside_key_window", size, old_key_id)
               for p in report.problems), report.summary()
    bundle_report = verify_bundle(str(export(tmp_path / "bundle")))
    assert any(p.code == "checkpoint_outside_key_window" for p in bundle_report.problems), bundle_report.summary()
    assert forged.created_at > key_windows("checkpoint")[1].valid_from


@committed
def test_a_checkpoint_dated_before_its_keys_window_fails(make_project, tmp_path):
    make_project("draft")
    integrate_settled(every_entries=1000, every_seconds=3600)
    future_private = Ed25519PrivateKey.generate()
    row = register_key(future_private, "checkpoint", valid_from=dj_timezone.now() + timedelta(hours=1))
    size = LedgerLeaf.objects.count()
    insert_checkpoint(size, tree_root(size), dj_timezone.now(), row.key_id, future_private)
    ok, output = run_audit_verify()
    assert not ok
    assert "outside the window of key " + row.key_id in output
    code, output = standalone([export(tmp_path / "bundle")])
    assert code == 1 and "outside the window" in output


def test_signer_picks_the_key_whose_window_covers_the_moment(db):
    KEYRING.clear()
    now = dj_timezone.now()
    current, _private = signer_for("entry", now)
    later = rotate_key("entry", effective_in=timedelta(hours=1))
    KEYRING.clear()
    assert signer_for("entry", now)[0].key_id == current.key_id
    assert signer_for("entry", now + timedelta(hours=2))[0].key_id == later.key_id
