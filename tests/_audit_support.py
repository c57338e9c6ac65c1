"""Helpers shared by the audit-ledger tests: forging entries and checkpoints the way an
attacker holding a key (or database superuser rights) would, and exporting bundles."""

import base64
import io
import time
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.management import call_command
from django.db import connection
from django.db.models import Max
from django.utils import timezone

from ledger import tamkeen_verify
from ledger.canonical import canonical_bytes, entry_document, entry_hash, format_time
from ledger.keys import KEYRING, key_windows, signer_for
from ledger.models import AuditEntry, Checkpoint, LedgerLeaf
from ledger.tamkeen_verify import leaf_hash, merkle_root

PROJECT = "workflow.grantproject"


def committed(test):
    """Run ``test`` with committed transactions (transactional database, reference data)."""
    return pytest.mark.django_db(transaction=True)(pytest.mark.usefixtures("reference_data")(test))


@contextmanager
def superuser_bypass():
    """Disable the ledger's triggers (and FK checks) as a database superuser could."""
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SET session_replication_role = DEFAULT")


def settle(timeout=300.0):
    """On PostgreSQL, wait until every transaction that wrote an entry is older than every
    running snapshot (the cluster's oldest running transaction), so the next integrator run
    takes every committed entry. Other databases of the same cluster count too: another
    test process's open transaction (pytest-xdist; a TestCase class holds one for all its
    tests) holds the horizon back for a while."""
    if connection.vendor != "postgresql":
        return
    deadline = time.monotonic() + timeout
    newest = AuditEntry.objects.aggregate(m=Max("xact_id"))["m"] or 0
    while True:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint")
            horizon = cursor.fetchone()[0]
        if horizon > newest:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"a transaction older than xid {newest} is still running after {timeout} s")
        time.sleep(0.05)


def integrate_settled(**options):
    """``integrate(**options)`` once every committed entry is settled (deterministic runs)."""
    from ledger.integrator import integrate

    settle()
    return integrate(**options)


def chain(project_or_id):
    entity_id = str(getattr(project_or_id, "pk", project_or_id))
    return list(AuditEntry.objects.filter(entity_type=PROJECT, entity_id=entity_id).order_by("seq"))


def entry_key(moment=None):
    """The real active entry key (window, private key) — what a compromised web server holds."""
    return signer_for("entry", moment or timezone.now())


def signed_entry_fields(*, entity_id, seq, transition, from_state, to_state, prev_hash, at,
                        private_key, key_id, actor_id=None, role="program_officer", payload=None,
                        entity_type=PROJECT, request_id="forged"):
    """The columns of a correctly hashed and signed entry (format v1)."""
    payload = payload or {}
    document = entry_document(
        entity_type=entity_type, entity_id=str(entity_id), seq=seq, transition=transition,
        from_state=from_state, to_state=to_state, actor_id=actor_id, role=role,
        request_id=request_id, payload=payload, prev_hash=prev_hash, at=at,
    )
    canonical = canonical_bytes(document)
    digest = entry_hash(canonical)
    return {
        "entity_type": entity_type, "entity_id": str(entity_id), "seq": seq, "transition": transition,
        "from_state": from_state, "to_state": to_state, "actor_id": actor_id, "actor_role": role,
        "request_id": request_id, "payload": payload, "created_at": at, "canonical": canonical,
        "prev_hash": prev_hash, "entry_hash": digest, "key_id": key_id,
        "signature": private_key.sign(bytes.fromhex(digest)),
    }


def append_forged(project_id, *, transition, to_state, at=None, private_key=None, key_id=None, **extra):
    """Append a correctly chained and signed entry to a project's chain (model insert)."""
    last = chain(project_id)[-1]
    at = at or timezone.now()
    if private_key is None:
        window, private_key = entry_key()
        key_id = key_id or window.key_id
    fields = signed_entry_fields(
        entity_id=project_id, seq=last.seq + 1, transition=transition, from_state=last.to_state,
        to_state=to_state, prev_hash=last.entry_hash, at=at, private_key=private_key, key_id=key_id,
        **extra,
    )
    entry = AuditEntry(**fields)
    entry.save()
    return entry


def fresh_unregistered_key():
    key = Ed25519PrivateKey.generate()
    from ledger.keys import key_id_for, public_hex

    return key, key_id_for(public_hex(key))


def predecessor(size):
    """(size, root) of the newest checkpoint smaller than ``size`` — or the empty tree."""
    previous = Checkpoint.objects.filter(size__lt=size).order_by("-size", "-created_at").first()
    return (previous.size, previous.root_hash) if previous else (0, tamkeen_verify.EMPTY_ROOT.hex())


def checkpoint_document(size, root_hex, at, key_id, prev=None):
    """A checkpoint's signed bytes (version 2), naming its predecessor (by default the
    newest checkpoint below ``size`` in the database)."""
    prev_size, prev_root = prev or predecessor(size)
    return canonical_bytes({"v": tamkeen_verify.CHECKPOINT_VERSION, "size": size, "root": root_hex,
                            "at": format_time(at), "key": key_id, "prev_size": prev_size, "prev_root": prev_root})


def consistency_between(old_size, new_size):
    """The RFC 9162 proof between two sizes of the database's tree, as stored (base64)."""
    hashes = [leaf_hash(h) for h in LedgerLeaf.objects.filter(index__lt=new_size).order_by("index")
              .values_list("entry__entry_hash", flat=True)]
    proof = tamkeen_verify.consistency_proof(old_size, new_size, lambda lo, hi: None, lambda i: hashes[i])
    return [b64(h) for h in proof]


def insert_checkpoint(size, root_hex, at, key_id, private_key, prev=None):
    """A checkpoint row as an attacker holding ``private_key`` would write it, well formed
    and linked to its predecessor (so only what the test changes is wrong)."""
    prev_size, prev_root = prev or predecessor(size)
    canonical = checkpoint_document(size, root_hex, at, key_id, prev=(prev_size, prev_root))
    row = Checkpoint(
        size=size, root_hash=root_hex, created_at=at, key_id=key_id, canonical=canonical,
        signature=private_key.sign(canonical), frontier=[],
        consistency=consistency_between(prev_size, size) if size <= LedgerLeaf.objects.count() else [],
    )
    row.save()
    return row


def rotate_now(purpose, private_key=None):
    """A new key of ``purpose`` active from now (certified by the development root): what
    ``rotate_key`` refuses to do sooner than a minute ahead, for tests that need it now."""
    from ledger.keys import register_key

    row = register_key(private_key or Ed25519PrivateKey.generate(), purpose, valid_from=timezone.now())
    KEYRING.clear()
    return row


def tree_root(size):
    hashes = list(LedgerLeaf.objects.filter(index__lt=size).order_by("index")
                  .values_list("entry__entry_hash", flat=True))
    assert len(hashes) == size
    return merkle_root([leaf_hash(h) for h in hashes]).hex()


def checkpoint_private_key(key_id):
    window = next(w for w in key_windows("checkpoint") if w.key_id == key_id)
    return KEYRING.private_key(window)


def run_audit_verify(*args):
    """``manage.py audit verify``: (ok, output)."""
    from django.core.management.base import CommandError

    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("audit", "verify", "--no-progress", *args, stdout=out, stderr=err)
    except CommandError as exc:
        return False, out.getvalue() + "\n" + str(exc)
    return True, out.getvalue()


def export(directory):
    call_command("audit", "export", str(directory), stdout=io.StringIO(), stderr=io.StringIO())
    return directory


def standalone(argv):
    """Run the standalone verifier's main in-process: (exit code, stdout + stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = tamkeen_verify.main([str(a) for a in argv])
    return code, out.getvalue() + err.getvalue()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


HOUR = timedelta(hours=1)
