#!/usr/bin/env python
"""The integrator's throughput, and the cost of a proof and of "Verify now" at scale.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/tamkeen .venv/bin/python bench/integrator.py \\
        [--entries 1000000] [--fresh] [--workers 2] [--every 1000] [--skip-proof]

Needs PostgreSQL. Works in its own database, ``tamkeen_bench_tree`` (created if missing,
``--fresh`` drops it first), with a development signing key in ``var/bench-keys/``:

1. one project through the services (``bench/transitions.py``'s fixtures: a real chain
   whose live row "Verify now" compares), integrated first;
2. N real signed entries — canonical bytes, hash chains of ten entries per synthetic
   entity, Ed25519 signatures by the certified entry key, made by ``--workers``
   processes — inserted with COPY in transactions of 50,000 (each stamped with its
   transaction id by the ledger's trigger, as the services' inserts are);
3. one integrator run over that backlog, timed: entries per second (target ≥ 2,000/s),
   checkpoints signed (one every ``--every`` entries, the setting's default 1,000),
   and the process's peak memory;
4. ``manage.py audit prove`` of an entry in the middle of the tree and
   ``ledger.evidence.verify_entity_anchored`` on the project (each 20 times; the median,
   the slowest, and the queries of one): targets ≤ 50 ms and ≤ 150 ms at 5 M entries.

The figures go to bench/README.md; none is asserted by the test suite.
"""

import argparse
import io
import multiprocessing
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

BENCH_DATABASE = "tamkeen_bench_tree"
CHAIN = 10  # entries per synthetic entity
COPY_ROWS = 50_000
COLUMNS = ("entity_type", "entity_id", "seq", "transition", "from_state", "to_state", "actor_id", "actor_role",
           "request_id", "payload", "created_at", "canonical", "prev_hash", "entry_hash", "key_id", "signature")


def _entries_part(args):
    """COPY lines (text format) for the synthetic entities [first, last) — in a worker."""
    first, last, key_id, private_bytes, at = args
    import hashlib
    import json

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.from_private_bytes(private_bytes)
    lines = []
    for entity in range(first, last):
        prev = "0" * 64
        for seq in range(1, CHAIN + 1):
            document = {"v": 1, "entity_type": "bench.file", "entity_id": str(entity), "seq": seq,
                        "transition": "note", "from": "open", "to": "open", "actor": None,
                        "role": "program_officer", "request_id": f"b{entity}-{seq}", "payload": {"n": seq},
                        "prev": prev, "at": at}
            canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
            digest = hashlib.sha256(canonical).hexdigest()
            signature = key.sign(bytes.fromhex(digest))
            lines.append("\t".join([
                "bench.file", str(entity), str(seq), "note", "open", "open", "\\N", "program_officer",
                f"b{entity}-{seq}", json.dumps({"n": seq}), at, "\\\\x" + canonical.hex(), prev, digest, key_id,
                "\\\\x" + signature.hex(),
            ]))
            prev = digest
    return "\n".join(lines) + "\n"


def insert_entries(count: int, workers: int) -> float:
    """Insert ``count`` signed entries with COPY; returns the seconds it took."""
    from django.db import connection, transaction
    from django.utils import timezone

    from ledger.canonical import format_time
    from ledger.keys import signer_for

    now = timezone.now()
    window, private_key = signer_for("entry", now)
    from cryptography.hazmat.primitives import serialization

    raw = private_key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                    serialization.NoEncryption())
    entities = count // CHAIN
    start = connection.cursor()
    start.execute("SELECT coalesce(max(entity_id::bigint), 0) FROM workflow_auditentry WHERE entity_type = 'bench.file'")
    offset = start.fetchone()[0] + 1
    per_part = COPY_ROWS // CHAIN
    parts = [(offset + n, offset + min(n + per_part, entities), window.key_id, raw, format_time(now))
             for n in range(0, entities, per_part)]
    started = time.monotonic()
    done = 0
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        for text in pool.imap(_entries_part, parts):
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.copy_expert(f"COPY workflow_auditentry ({', '.join(COLUMNS)}) FROM STDIN", io.StringIO(text))
            done += text.count("\n")
            sys.stderr.write(f"\r  inserted {done:,}/{entities * CHAIN:,} entries")
            sys.stderr.flush()
    sys.stderr.write("\n")
    return time.monotonic() - started


def _integrate_alone(url, every, memory_file):
    """One integrator run in this (fresh) process: (integrated, checkpoints, tree size,
    seconds, peak RSS in KB)."""
    from transitions import configure_django

    os.environ["TAMKEEN_INTEGRATOR_STATE_FILE"] = memory_file
    configure_django(url)
    from django.conf import settings

    settings.TAMKEEN_INTEGRATOR_STATE_FILE = memory_file
    from ledger.integrator import integrate

    def progress(what, done, total):
        sys.stderr.write(f"\r  {what}: {done:,}/{total:,}")
        sys.stderr.flush()

    started = time.monotonic()
    result = integrate(progress=progress, every_entries=every)
    elapsed = time.monotonic() - started
    return (result.integrated, result.checkpoints, result.tree_size, elapsed,
            resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def timed(function, rounds=20):
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        function()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), max(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--fresh", action="store_true", help="drop and rebuild the bench database")
    parser.add_argument("--workers", type=int, default=2, help="processes signing the entries")
    parser.add_argument("--every", type=int, default=None, help="TAMKEEN_CHECKPOINT_EVERY_ENTRIES for the run")
    parser.add_argument("--skip-proof", action="store_true")
    args = parser.parse_args()

    from transitions import bench_url, configure_django, ensure_database

    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        sys.exit("bench/integrator.py needs PostgreSQL: set DATABASE_URL=postgres://...")
    ensure_database(url, BENCH_DATABASE, fresh=args.fresh)
    configure_django(bench_url(url, BENCH_DATABASE))

    from django.core.management import call_command
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext
    from transitions import prepare

    from ledger import memory
    from ledger.evidence import verify_entity_anchored
    from ledger.integrator import integrate
    from ledger.models import AuditEntry, LedgerLeaf, LedgerTile
    from workflow.models import GrantProject

    memory_file = ROOT / "var" / "bench-keys" / "integrator-state-tree.json"
    os.environ["TAMKEEN_INTEGRATOR_STATE_FILE"] = str(memory_file)
    from django.conf import settings

    settings.TAMKEEN_INTEGRATOR_STATE_FILE = str(memory_file)
    if args.fresh:
        memory.forget()

    _officer, project_ids = prepare(1)
    project = GrantProject.objects.get(pk=project_ids[0])
    if args.entries:  # the project's entries first; with --entries 0, measure the backlog left as it is
        started = time.monotonic()
        waiting = integrate(force_checkpoint=True)
        if waiting.integrated > 1000:  # a backlog left by an interrupted run
            print(f"integrator (backlog found): {waiting.integrated:,} entries in {time.monotonic() - started:.1f} s")
    before = AuditEntry.objects.count()
    print(f"ledger before: {before:,} entries")

    seconds = insert_entries(args.entries, args.workers)
    print(f"inserted {args.entries:,} signed entries in {seconds:.1f} s ({args.entries / seconds:,.0f}/s, "
          f"{args.workers} signing processes, COPY)")

    # The run in a process of its own, so that its peak memory is its own.
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        integrated, checkpoints, tree_size, elapsed, peak = pool.apply(
            _integrate_alone, (bench_url(url, BENCH_DATABASE), args.every, str(memory_file)))
    sys.stderr.write("\n")
    print(f"integrator: {integrated:,} entries in {elapsed:.1f} s = {integrated / elapsed:,.0f} entries/s "
          f"(target >= 2,000/s); {checkpoints} checkpoints signed; tree size {tree_size:,}; "
          f"peak RSS of its process {peak / 1024:.0f} MB")
    result_size = tree_size
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_total_relation_size('ledger_ledgertile'), pg_total_relation_size('workflow_ledgerleaf'),"
                       " pg_total_relation_size('workflow_auditentry')")
        tiles, leaves, entries = cursor.fetchone()
    print(f"stored tree: {LedgerTile.objects.count():,} tile rows, {tiles / 2**20:.1f} MB; leaves table "
          f"{leaves / 2**20:.1f} MB; entries table {entries / 2**20:.1f} MB")
    if args.skip_proof:
        return

    size = result_size
    middle = LedgerLeaf.objects.get(index=size // 2).entry_id
    out = Path(tempfile.mkdtemp()) / "proof.json"
    prove = lambda: call_command("audit", "prove", str(middle), str(out), stdout=io.StringIO())  # noqa: E731
    prove()
    with CaptureQueriesContext(connection) as captured:
        prove()
    median, worst = timed(prove)
    print(f"audit prove (entry at index {size // 2:,} of {size:,}): median {median:.1f} ms, slowest {worst:.1f} ms, "
          f"{len(captured)} queries, {out.stat().st_size} bytes (target <= 50 ms)")

    verify = lambda: verify_entity_anchored(project)  # noqa: E731
    report, checkpoint = verify()
    assert report.ok, report.problems
    with CaptureQueriesContext(connection) as captured:
        verify()
    median, worst = timed(verify)
    print(f"verify_entity_anchored (project #{project.pk}, {report.entries} entries, checkpoint of {checkpoint.size:,}): "
          f"median {median:.1f} ms, slowest {worst:.1f} ms, {len(captured)} queries (target <= 150 ms)")
    reset_queries()
    print(f"load average: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
