#!/usr/bin/env python
"""Does the integrator keep up with writers adding entries at a sustained rate?

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/tamkeen .venv/bin/python bench/integrator_sustained.py \\
        [--rate 2000] [--seconds 180] [--tick 60] [--workers 2]

Needs PostgreSQL. Works in ``bench/integrator.py``'s database (``tamkeen_bench_tree``,
created if missing) with its development signing key:

1. ``--rate`` × ``--seconds`` real signed entries are made first (canonical bytes, hash
   chains, Ed25519 signatures, on ``--workers`` processes) and kept in a file, so that
   signing does not compete with the run (a web server signs its own entries, about
   50 µs each);
2. a writer process inserts them at ``--rate`` entries a second, ten committed
   transactions a second (each stamped with its transaction id by the ledger's trigger,
   as the services' inserts are), while this process runs the integrator every
   ``--tick`` seconds, as Celery beat does (``ledger.tasks.integrate_ledger``, every 60 s);
3. each tick prints what it integrated, how long it took and the backlog left; at the
   end, the writer's achieved rate and whether every tick finished within its interval
   with the backlog bounded (it keeps up) or not.

The figures go to bench/README.md; none is asserted by the test suite.
"""

import argparse
import io
import multiprocessing
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from integrator import BENCH_DATABASE, CHAIN, COLUMNS, _entries_part  # noqa: E402

TRANSACTIONS_PER_SECOND = 10


def make_entries(path: Path, count: int, workers: int) -> None:
    """``count`` signed entries as COPY lines in ``path``, on new synthetic entities."""
    from django.db import connection
    from django.utils import timezone

    from ledger.canonical import format_time
    from ledger.keys import signer_for

    now = timezone.now()
    window, private_key = signer_for("entry", now)
    from cryptography.hazmat.primitives import serialization

    raw = private_key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                    serialization.NoEncryption())
    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(max(entity_id::bigint), 0) FROM workflow_auditentry "
                       "WHERE entity_type = 'bench.file'")
        offset = cursor.fetchone()[0] + 1
    entities, per_part = count // CHAIN, 5000
    parts = [(offset + n, offset + min(n + per_part, entities), window.key_id, raw, format_time(now))
             for n in range(0, entities, per_part)]
    done = 0
    with path.open("w") as out, multiprocessing.get_context("spawn").Pool(workers) as pool:
        for text in pool.imap(_entries_part, parts):
            out.write(text)
            done += text.count("\n")
            sys.stderr.write(f"\r  signed {done:,}/{entities * CHAIN:,} entries")
            sys.stderr.flush()
    sys.stderr.write("\n")


def _write(url, path, rate, written, stop):
    """The writer process: the lines of ``path`` at ``rate`` a second, ten transactions a
    second, on schedule (it catches up when a transaction was slow)."""
    from transitions import configure_django

    configure_django(url)
    from django.db import connection, transaction

    per_transaction = max(1, rate // TRANSACTIONS_PER_SECOND)
    started = time.monotonic()
    with open(path) as lines:
        n = 0
        while not stop.is_set():
            chunk = [line for _, line in zip(range(per_transaction), lines, strict=False)]
            if not chunk:
                break
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.copy_expert(f"COPY workflow_auditentry ({', '.join(COLUMNS)}) FROM STDIN",
                                   io.StringIO("".join(chunk)))
            with written.get_lock():
                written.value += len(chunk)
            n += 1
            wait = started + n / TRANSACTIONS_PER_SECOND - time.monotonic()
            if wait > 0:
                time.sleep(wait)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=int, default=2000, help="entries written a second (default 2,000)")
    parser.add_argument("--seconds", type=int, default=180, help="how long the writers write (default 180)")
    parser.add_argument("--tick", type=float, default=60.0, help="seconds between integrator runs (default 60)")
    parser.add_argument("--workers", type=int, default=2, help="processes signing the entries beforehand")
    args = parser.parse_args()
    if args.rate < 1 or args.seconds < 1 or args.tick <= 0:
        parser.error("--rate, --seconds and --tick must be positive")

    from transitions import bench_url, configure_django, ensure_database

    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        sys.exit("bench/integrator_sustained.py needs PostgreSQL: set DATABASE_URL=postgres://...")
    ensure_database(url, BENCH_DATABASE)
    database = bench_url(url, BENCH_DATABASE)
    configure_django(database)
    memory_file = ROOT / "var" / "bench-keys" / "integrator-state-tree.json"
    os.environ["TAMKEEN_INTEGRATOR_STATE_FILE"] = str(memory_file)
    from django.conf import settings

    settings.TAMKEEN_INTEGRATOR_STATE_FILE = str(memory_file)
    from transitions import prepare

    from ledger.integrator import integrate
    from ledger.models import AuditEntry

    prepare(1)  # the key ceremony and reference data, on a new database
    path = Path(tempfile.mkdtemp()) / "entries.copy"
    total = args.rate * args.seconds
    make_entries(path, total, args.workers)
    started = time.monotonic()
    waiting = integrate(force_checkpoint=True)
    print(f"ledger before: {AuditEntry.objects.count():,} entries; backlog integrated first: "
          f"{waiting.integrated:,} in {time.monotonic() - started:.1f} s")

    written, stop = multiprocessing.get_context("spawn").Value("q", 0), multiprocessing.get_context("spawn").Event()
    writer = multiprocessing.get_context("spawn").Process(
        target=_write, args=(database, str(path), args.rate, written, stop), daemon=True)
    print(f"writing {total:,} entries at {args.rate:,}/s for {args.seconds} s; the integrator every {args.tick:g} s\n")
    print(f"{'tick at s':>9} {'integrated':>11} {'took s':>7} {'entries/s':>10} {'written':>10} {'backlog':>9}")
    began = time.monotonic()
    writer.start()
    integrated, ticks, late = 0, 0, 0
    try:
        while True:
            ticks += 1
            due = began + ticks * args.tick
            alive = writer.is_alive()
            time.sleep(max(0.0, due - time.monotonic()))
            tick_started = time.monotonic()
            result = integrate()
            took = time.monotonic() - tick_started
            integrated += result.integrated
            late += took > args.tick
            backlog = written.value - integrated
            print(f"{tick_started - began:9.0f} {result.integrated:11,} {took:7.1f} "
                  f"{result.integrated / took if took else 0:10,.0f} {written.value:10,} {backlog:9,}", flush=True)
            if not alive and backlog <= 0:
                break
    finally:
        stop.set()
        writer.join(timeout=10)
        path.unlink(missing_ok=True)
    seconds_written = min(args.seconds, time.monotonic() - began)
    print(f"\nwriter: {written.value:,} entries, {written.value / seconds_written:,.0f}/s sustained; "
          f"integrator: {integrated:,} entries in {ticks} ticks, {late} of them longer than the tick")
    keeps_up = late == 0 and integrated >= written.value
    print("keeps up: every tick finished within its interval and the backlog went back to zero" if keeps_up
          else "DOES NOT keep up")
    print(f"load average: {os.getloadavg()[0]:.2f}")
    return 0 if keeps_up else 1


if __name__ == "__main__":
    sys.exit(main())
