"""One long chain's verification ("Verify now", the file page's stored verification)
checks its signatures on several threads of the server process (``ledger.evidence``,
``CHAIN_THREADS_FROM``): the same problems, located on the same entries, as one thread."""

import contextlib

import pytest
from django.db import connection

from ledger import evidence
from ledger.models import AuditEntry
from ledger.tamkeen_verify import SignaturePool
from tests._audit_support import superuser_bypass

pytestmark = pytest.mark.django_db


@pytest.fixture
def threaded(monkeypatch):
    """Every chain counts as long, in batches of one entry; records which pools ran."""
    pools = []
    original = SignaturePool.__init__

    def init(self, keys, workers, *, threads=False):
        pools.append((workers, threads))
        original(self, keys, workers, threads=threads)

    monkeypatch.setattr(evidence, "CHAIN_THREADS_FROM", 1)
    monkeypatch.setattr(SignaturePool, "THREAD_BATCH", 1)
    monkeypatch.setattr(SignaturePool, "__init__", init)
    monkeypatch.setattr(evidence.os, "cpu_count", lambda: 2)
    return pools


def test_a_long_chain_is_checked_on_threads_and_holds(make_project, threaded):
    project = make_project("approved")
    report = evidence.verify_entity(project)
    assert report.ok, report.problems
    assert report.signatures_checked == AuditEntry.objects.for_entity(project).count() > 3
    assert threaded == [(2, True)]


def test_a_bad_signature_is_found_on_its_entry_whatever_the_thread(make_project, threaded):
    project = make_project("approved")
    entries = list(AuditEntry.objects.for_entity(project).order_by("seq"))
    target = entries[2]
    signature = bytearray(bytes(target.signature))
    signature[0] ^= 1
    bypass = superuser_bypass() if connection.vendor == "postgresql" else contextlib.nullcontext()
    with bypass, connection.cursor() as cursor:
        cursor.execute("UPDATE workflow_auditentry SET signature = %s WHERE id = %s", [bytes(signature), target.pk])

    report = evidence.verify_entity(project)

    assert [(problem.code, problem.entry_id, problem.seq) for problem in report.problems] == [
        ("bad_signature", target.pk, target.seq)]
    assert threaded == [(2, True)]


def test_a_short_chain_stays_on_one_thread(make_project, monkeypatch):
    pools = []
    monkeypatch.setattr(SignaturePool, "__init__", lambda self, *args, **kwargs: pools.append(args))
    project = make_project("draft")
    assert AuditEntry.objects.for_entity(project).count() < evidence.CHAIN_THREADS_FROM
    assert evidence.verify_entity(project).ok
    assert pools == []


def test_the_cyclic_collector_is_paused_only_while_a_chain_is_verified(make_project, monkeypatch):
    import gc

    project = make_project("approved")
    seen = []
    original = evidence.chain_records
    monkeypatch.setattr(evidence, "chain_records", lambda entity: (seen.append(gc.isenabled()), original(entity))[1])
    assert gc.isenabled()
    report, _checkpoint = evidence.verify_entity_anchored(project)
    assert report.ok and seen == [False] and gc.isenabled()

    def broken(entity):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(evidence, "chain_records", broken)
    with pytest.raises(RuntimeError):
        evidence.verify_entity_anchored(project)
    assert gc.isenabled()
