"""The tamper matrix (DESIGN.md §6, issue 3): an attacker with database superuser rights
(triggers bypassed with ``session_replication_role = replica``), and sometimes the entry
or checkpoint key, changes the ledger; ``audit verify`` and the standalone verifier on an
exported bundle must both detect it and name the tampered entry (or checkpoint/entity).

Each case builds a fresh ledger: several projects in several states through the services,
integrated and checkpointed, then a few more transitions (integrated but not checkpointed)
and a last project not integrated at all.
"""

import io
import json
import subprocess
import sys
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection

from ledger.canonical import canonical_bytes, entry_hash
from ledger.evidence import VERIFIER_SOURCE, verify_database
from ledger.keys import key_windows, signer_for
from ledger.models import AuditEntry, Checkpoint, LedgerLeaf
from ledger.tamkeen_verify import leaf_hash, load_trust, merkle_root, verify_bundle
from tests._audit_support import (
    PROJECT,
    append_forged,
    chain,
    entry_key,
    export,
    fresh_unregistered_key,
    insert_checkpoint,
    integrate_settled,
    run_audit_verify,
    signed_entry_fields,
    standalone,
    superuser_bypass,
)
from workflow import services

pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("reference_data")]


@dataclass
class Ledger:
    approved: int  # create, submit, screen_ok, schedule, decide_approve | suspend, resume
    committee: int  # create, submit, screen_ok, schedule | suspend
    draft: int  # create
    ineligible: int  # create, submit, screen_fail
    late: int  # create, submit — never integrated
    checkpoint_size: int
    cast: object


@pytest.fixture
def ledger(make_project, cast, program):
    # A program that requires no document: each attached document is an entry too, and
    # the sequence numbers below are those of the lifecycle moves alone.
    program.required_documents = []
    program.save(update_fields=["required_documents"])
    approved = make_project("approved")
    committee = make_project("in_committee")
    draft = make_project("draft")
    ineligible = make_project("ineligible")
    first = integrate_settled(force_checkpoint=True)
    assert first.checkpoint is not None
    services.project_suspend(project_id=approved.pk, actor=cast.officer, reason="Contrôle sur place.")
    services.project_resume(project_id=approved.pk, actor=cast.officer)
    services.project_suspend(project_id=committee.pk, actor=cast.officer, reason="Pièce contestée.")
    second = integrate_settled(every_entries=1000, every_seconds=3600)
    assert second.integrated == 3 and second.checkpoint is None
    late = make_project("submitted")
    built = Ledger(approved.pk, committee.pk, draft.pk, ineligible.pk, late.pk, first.checkpoint.size, cast)
    # The four files' entries, plus their committee sessions' (demo.scenarios): the
    # approved file's session create, add_item, record_attendance, open, declare_interest,
    # cast_vote, confirm_decision, close; the one in committee's create, add_item.
    assert first.checkpoint.size == 5 + 4 + 1 + 3 + 8 + 2
    assert AuditEntry.objects.filter(leaf__isnull=True).count() == 2
    return built


def execute(sql, params=()):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def entry_of(project_id, seq) -> AuditEntry:
    return AuditEntry.objects.get(entity_type=PROJECT, entity_id=str(project_id), seq=seq)


def named(project_id, seq, **detail):
    """One entry of a project's chain (by the fields the reports give)."""
    fields = {"entity_type": PROJECT, "entity_id": str(project_id), "seq": seq}
    return {**fields, "detail": detail} if detail else fields


def entity(project_id, **detail):
    return {"entity_type": PROJECT, "entity_id": str(project_id), "seq": None, "detail": detail}


def checkpoint(size, **fields):
    return {"checkpoint_size": size, **fields}


def resign(entry: AuditEntry, private_key, key_id, **changes):
    """Rewrite ``entry`` with changed signed fields, re-hashed and re-signed (an attacker
    holding the entry key), keeping its columns consistent."""
    document = json.loads(bytes(entry.canonical))
    document.update(changes)
    canonical = canonical_bytes(document)
    digest = entry_hash(canonical)
    execute(
        "UPDATE workflow_auditentry SET canonical = %s, entry_hash = %s, signature = %s, key_id = %s, "
        "seq = %s, prev_hash = %s, transition = %s, from_state = %s, to_state = %s WHERE id = %s",
        [canonical, digest, private_key.sign(bytes.fromhex(digest)), key_id, document["seq"],
         document["prev"], document["transition"], document["from"], document["to"], entry.pk],
    )
    return digest


# --- The tamperings. Each returns what the reports must say: (fields, code) of problems, ---
# --- and the entry ids only the database report can give.                              ---


def edit_canonical_bytes(ledger):
    target = entry_of(ledger.approved, 5)
    edited = bytes(target.canonical).replace(b'"amount":"60000.00"', b'"amount":"90000.00"')
    assert edited != bytes(target.canonical)
    execute("UPDATE workflow_auditentry SET canonical = %s WHERE id = %s", [edited, target.pk])
    return [(named(ledger.approved, 5), "hash_mismatch"),
            (named(ledger.approved, 5, column="payload"), "column_differs")], [target.pk]


def edit_payload_column(ledger):
    target = entry_of(ledger.approved, 5)
    payload = dict(target.payload, amount="90000.00")
    execute("UPDATE workflow_auditentry SET payload = %s::jsonb WHERE id = %s", [json.dumps(payload), target.pk])
    return [(named(ledger.approved, 5, column="payload"), "column_differs")], [target.pk]


def edit_state_column(ledger):
    target = entry_of(ledger.approved, 5)
    execute("UPDATE workflow_auditentry SET to_state = 'rejected' WHERE id = %s", [target.pk])
    return [(named(ledger.approved, 5, column="to"), "column_differs")], [target.pk]


def delete_entry(ledger):
    target = entry_of(ledger.committee, 2)
    index = target.leaf.index
    execute("DELETE FROM workflow_ledgerleaf WHERE entry_id = %s", [target.pk])
    execute("DELETE FROM workflow_auditentry WHERE id = %s", [target.pk])
    return [(named(ledger.committee, 3, expected_seq=2), "seq_gap"),
            ({"index": index}, "index_gap"),
            (checkpoint(ledger.checkpoint_size, index=index), "checkpoint_leaf_missing")], []


def insert_forged_entry(ledger):
    """A forged decision properly signed with the real entry key and linked to its
    predecessor, slipped into the middle of a chain; later entries' seq columns are moved
    up to make room (the unique (entity, seq) index is not a trigger)."""
    window, private_key = entry_key()
    entries = chain(ledger.approved)
    for entry in reversed(entries[2:]):
        execute("UPDATE workflow_auditentry SET seq = seq + 1 WHERE id = %s", [entry.pk])
    fields = signed_entry_fields(
        entity_id=ledger.approved, seq=3, transition="screen_fail", from_state="submitted",
        to_state="ineligible", prev_hash=entries[1].entry_hash, at=entries[1].created_at + timedelta(seconds=1),
        private_key=private_key, key_id=window.key_id, actor_id=ledger.cast.officer.pk,
    )
    forged = AuditEntry(**fields)
    forged.save()
    return [(named(ledger.approved, 3), "seq_out_of_order"),
            (named(ledger.approved, 3, column="seq"), "column_differs")], [forged.pk]


def insert_and_rewrite_chain(ledger):
    """The strongest entry-key holder: slips two forged entries (a deferral and a new
    scheduling, a valid detour) into a chain and rewrites every later entry with new
    seq/prev, re-hashed and re-signed; columns, links, signatures, windows and the state
    machine all hold. Only the signed checkpoint (held by the integrator) exposes it."""
    window, private_key = entry_key()
    entries = chain(ledger.approved)  # 1 create .. 4 schedule, 5 decide_approve, 6 suspend, 7 resume
    for entry in reversed(entries[4:]):
        execute("UPDATE workflow_auditentry SET seq = seq + 100 WHERE id = %s", [entry.pk])
    prev, at = entries[3].entry_hash, entries[3].created_at
    for seq, (name, source, target) in enumerate(
        [("defer", "in_committee", "eligible"), ("schedule", "eligible", "in_committee")], start=5
    ):
        at += timedelta(milliseconds=1)
        fields = signed_entry_fields(
            entity_id=ledger.approved, seq=seq, transition=name, from_state=source, to_state=target,
            prev_hash=prev, at=at, private_key=private_key, key_id=window.key_id,
            actor_id=ledger.cast.officer.pk,
        )
        AuditEntry(**fields).save()
        prev = fields["entry_hash"]
    for offset, entry in enumerate(entries[4:]):
        prev = resign(entry, private_key, window.key_id, seq=7 + offset, prev=prev)
    return [(checkpoint(ledger.checkpoint_size), "checkpoint_root_mismatch")], []


def reorder_entries(ledger):
    """Swap the signed bytes (with hash and signature) of two entries of one chain."""
    a, b = entry_of(ledger.committee, 2), entry_of(ledger.committee, 3)
    execute("UPDATE workflow_auditentry SET entry_hash = 'swap' WHERE id = %s", [a.pk])
    for target, source in ((b, a), (a, b)):
        execute(
            "UPDATE workflow_auditentry SET canonical = %s, entry_hash = %s, signature = %s WHERE id = %s",
            [bytes(source.canonical), source.entry_hash, bytes(source.signature), target.pk],
        )
    return [(named(ledger.committee, 2, column="seq"), "column_differs"),
            (named(ledger.committee, 3, column="seq"), "column_differs"),
            (checkpoint(ledger.checkpoint_size), "checkpoint_root_mismatch")], [a.pk]


def reorder_leaves(ledger):
    """Swap two entries' places in the global Merkle tree."""
    a, b = entry_of(ledger.approved, 2).leaf, entry_of(ledger.committee, 2).leaf
    execute("UPDATE workflow_ledgerleaf SET index = -1 WHERE index = %s", [a.index])
    execute("UPDATE workflow_ledgerleaf SET index = %s WHERE index = %s", [a.index, b.index])
    execute("UPDATE workflow_ledgerleaf SET index = %s WHERE index = -1", [b.index])
    return [(checkpoint(ledger.checkpoint_size), "checkpoint_root_mismatch")], []


def truncate_chain_tail(ledger):
    """Remove the last two entries of a project (schedule, then the suspension)."""
    for entry in chain(ledger.committee)[-2:]:
        execute("DELETE FROM workflow_ledgerleaf WHERE entry_id = %s", [entry.pk])
        execute("DELETE FROM workflow_auditentry WHERE id = %s", [entry.pk])
    return [(entity(ledger.committee, live="suspended", replayed="eligible"), "live_state_mismatch"),
            (checkpoint(ledger.checkpoint_size), "checkpoint_leaf_missing")], []


def fork_checkpoint(ledger):
    """A second checkpoint of the same size with another root, signed with the real key."""
    real = Checkpoint.objects.get(size=ledger.checkpoint_size)
    hashes = list(LedgerLeaf.objects.filter(index__lt=real.size).order_by("index")
                  .values_list("entry__entry_hash", flat=True))
    hashes[-1] = "ab" * 32
    other_root = merkle_root([leaf_hash(h) for h in hashes]).hex()
    window, private_key = signer_for("checkpoint", real.created_at + timedelta(seconds=1))
    insert_checkpoint(real.size, other_root, real.created_at + timedelta(seconds=1), window.key_id, private_key)
    return [(checkpoint(real.size), "checkpoint_fork")], []


def state_without_entry(ledger):
    execute("UPDATE workflow_grantproject SET state = 'approved' WHERE id = %s", [ledger.draft])
    return [(entity(ledger.draft, live="approved", replayed="draft"), "live_state_mismatch")], []


def field_without_entry(ledger):
    """An audited field other than the state changed in place: the approved amount the
    chain's decision gives is no longer the row's."""
    execute("UPDATE workflow_grantproject SET approved_amount = 45000 WHERE id = %s", [ledger.approved])
    return [(entity(ledger.approved, field="approved_amount", live="45000.00", replayed="60000.00"),
             "live_field_mismatch")], []


def truncate_tail_and_set_the_row_back(ledger):
    """Remove a project's last entry (its suspension, integrated but in no checkpoint yet,
    the newest leaf: no gap) and set its state back: only the chain head the row keeps
    still names the suspension."""
    last = chain(ledger.committee)[-1]
    execute("DELETE FROM workflow_ledgerleaf WHERE entry_id = %s", [last.pk])
    execute("DELETE FROM workflow_auditentry WHERE id = %s", [last.pk])
    execute("UPDATE workflow_grantproject SET state = 'in_committee', state_before_suspension = '' WHERE id = %s",
            [ledger.committee])
    return [(entity(ledger.committee, field="seq", live=last.seq, replayed=last.seq - 1), "live_head_mismatch")], []


def forbidden_move(ledger):
    """draft → approved, correctly hashed, chained and signed, with the project's state
    moved to match: only the state machine replay can object."""
    forged = append_forged(ledger.draft, transition="decide_approve", to_state="approved",
                           actor_id=ledger.cast.chair.pk, role="committee_chair",
                           payload={"outcome": "approve", "amount": "60000.00"})
    execute("UPDATE workflow_grantproject SET state = 'approved' WHERE id = %s", [ledger.draft])
    return [(named(ledger.draft, 2), "state_machine")], [forged.pk]


def unknown_key(ledger):
    target = entry_of(ledger.approved, 5)
    private_key, key_id = fresh_unregistered_key()
    execute("UPDATE workflow_auditentry SET key_id = %s, signature = %s WHERE id = %s",
            [key_id, private_key.sign(bytes.fromhex(target.entry_hash)), target.pk])
    return [(named(ledger.approved, 5, key_id=key_id), "unknown_key")], [target.pk]


def outside_key_window(ledger):
    """A suspension dated a day before the entry key existed, properly chained and signed
    by that key, with the project's state moved to match."""
    window = key_windows("entry")[0]
    _window, private_key = entry_key()
    forged = append_forged(ledger.draft, transition="suspend", to_state="suspended",
                           at=window.valid_from - timedelta(days=1), private_key=private_key,
                           key_id=window.key_id, actor_id=ledger.cast.officer.pk,
                           payload={"reason": "antidaté"})
    execute("UPDATE workflow_grantproject SET state = 'suspended', state_before_suspension = 'draft' "
            "WHERE id = %s", [ledger.draft])
    return [(named(ledger.draft, 2, key_id=window.key_id), "outside_key_window")], [forged.pk]


def corrupt_signature(ledger):
    """Only a full check (every signature) can see a signature that does not verify."""
    target = entry_of(ledger.ineligible, 3)
    signature = bytearray(bytes(target.signature))
    signature[0] ^= 1
    execute("UPDATE workflow_auditentry SET signature = %s WHERE id = %s", [bytes(signature), target.pk])
    return [(named(ledger.ineligible, 3), "bad_signature")], [target.pk]


TAMPERINGS = [
    edit_canonical_bytes, edit_payload_column, edit_state_column, delete_entry, insert_forged_entry,
    insert_and_rewrite_chain, reorder_entries, reorder_leaves, truncate_chain_tail, fork_checkpoint,
    state_without_entry, field_without_entry, truncate_tail_and_set_the_row_back, forbidden_move, unknown_key,
    outside_key_window, corrupt_signature,
]
NEEDS_SIGNATURES = {corrupt_signature}


def audit_verify_json(trust_file):
    """``manage.py audit verify --full --json --trust FILE``: the report it prints (it exits non-zero)."""
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("audit", "verify", "--full", "--json", "--trust", str(trust_file), stdout=out,
                     stderr=io.StringIO())
    return json.loads(out.getvalue())


def _matches(problems, fields, code):
    """Some problem (a Problem, or its JSON form) has ``code`` and every one of ``fields``
    (``detail``: those of its details)."""
    for problem in problems:
        data = problem if isinstance(problem, dict) else problem.as_dict()
        if data["code"] != code:
            continue
        detail = data.get("detail", {})
        if all(detail.get(k) == v for k, v in fields.get("detail", {}).items()) and all(
            data.get(k) == v for k, v in fields.items() if k != "detail"
        ):
            return True
    return False


def _named(problems):
    return [(p.code, p.entity_type, p.entity_id, p.seq, p.entry_hash, p.checkpoint_size, p.index) for p in problems]


@pytest.mark.parametrize("tamper", TAMPERINGS, ids=[t.__name__ for t in TAMPERINGS])
def test_every_tampering_is_detected_and_located_by_both_verifiers(ledger, tamper, tmp_path):
    # The auditor's trust file, kept before the tampering: every check below uses it.
    trust_file = tmp_path / "trust.json"
    call_command("audit", "trust", "--out", str(trust_file), stdout=io.StringIO())
    trust = load_trust(str(trust_file))
    untouched = verify_database(full=True, trust=trust)
    assert untouched.ok, untouched.summary()  # no false positive before the tampering
    assert standalone([export(tmp_path / "before"), "--trust", trust_file])[0] == 0

    with superuser_bypass():
        expected, database_only = tamper(ledger)

    report = verify_database(full=True, trust=trust)
    assert not report.ok
    for fields, code in expected:
        assert _matches(report.problems, fields, code), (fields, code, report.summary())
    for entry_id in database_only:
        assert any(p.entry_id == entry_id for p in report.problems), (entry_id, report.summary())
    ok, output = run_audit_verify("--full", "--trust", str(trust_file))
    assert not ok
    assert "NOT intact" in output and f"[{expected[0][1]}]" in output, output
    said = audit_verify_json(trust_file)
    assert not said["ok"]
    for fields, code in expected:
        assert _matches(said["problems"], fields, code), (fields, code, said)

    bundle = export(tmp_path / "after")
    bundle_report = verify_bundle(str(bundle), check_signatures=True, trust=trust)
    assert not bundle_report.ok
    # The database is read chain by chain, the bundle in insertion order: the same
    # problems all the same, in the same order (the first bad item named alike).
    assert _named(report.problems) == _named(bundle_report.problems), (report.summary(), bundle_report.summary())
    for fields, code in expected:
        assert _matches(bundle_report.problems, fields, code), (fields, code, bundle_report.summary())
    code, output = standalone([bundle, "--json", "--trust", trust_file])
    if tamper in NEEDS_SIGNATURES:
        assert code == 0  # hashes, chains and checkpoints hold; only the signature check sees it
        done = subprocess.run([sys.executable, "-I", VERIFIER_SOURCE, bundle, "--signatures", "--json", "--trust",
                               trust_file],
                              capture_output=True, text=True, timeout=120, cwd=tmp_path)
        assert done.returncode == 1, done.stdout + done.stderr
        for fields, code in expected:
            assert _matches(json.loads(done.stdout)["problems"], fields, code), (fields, code, done.stdout)
    else:
        assert code == 1, output
        said = json.loads(output)
        assert not said["ok"]
        for fields, code in expected:
            assert _matches(said["problems"], fields, code), (fields, code, output)
        code, output = standalone([bundle, "--quiet", "--trust", trust_file])
        assert "LEDGER NOT INTACT" in output and f"[{expected[0][1]}]" in output, output


def test_without_the_bypass_the_database_refuses_to_rewrite_the_ledger(ledger):
    entry = entry_of(ledger.approved, 1)
    refused = [
        ("UPDATE workflow_auditentry SET to_state = 'rejected' WHERE id = %s", [entry.pk]),
        ("DELETE FROM workflow_auditentry WHERE id = %s", [entry.pk]),
        ("TRUNCATE workflow_auditentry CASCADE", []),
        ("UPDATE workflow_ledgerleaf SET index = index + 1000", []),
        ("DELETE FROM workflow_ledgerleaf", []),
        ("TRUNCATE workflow_ledgerleaf", []),
        ("UPDATE workflow_checkpoint SET root_hash = 'x'", []),
        ("DELETE FROM workflow_checkpoint", []),
        ("UPDATE workflow_signingkey SET valid_from = now()", []),
        ("DELETE FROM workflow_signingkey", []),
    ]
    before = AuditEntry.objects.count()
    for sql, params in refused:
        with pytest.raises(DatabaseError, match="append-only"):
            execute(sql, params)
    assert AuditEntry.objects.count() == before
    assert AuditEntry.objects.get(pk=entry.pk).to_state == "draft"
    assert verify_database(full=True).ok
