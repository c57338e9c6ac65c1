#!/usr/bin/env python
"""Audited project transitions per second: the services against a raw psycopg2 floor.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/tamkeen \\
        .venv/bin/python bench/transitions.py [--seconds 10] [--workers 1,8]

The services workload loops ``project_suspend`` / ``project_resume`` (each one audited
transition: lock, permission check, django-fsm transition, signed audit entry, save)
on projects created beforehand through the services. The raw baseline does the same
writes by hand with psycopg2 — one transaction holding an UPDATE of the project's
state and an INSERT of an audit row — on copies of the same tables. Both run at each
worker count, every worker a separate process with its own connection and its own
projects, so workers never wait on each other's rows. See bench/README.md.
"""

import argparse
import json
import math
import multiprocessing
import os
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

BENCH_DATABASE = "tamkeen_bench"
PROGRAM_CODE = "bench-transitions"
OFFICER, AGENT = "bench_officer", "bench_agent"
TARGET_RATIO = 0.5
RAW_PROJECTS, RAW_AUDIT = "bench_raw_grantproject", "bench_raw_auditentry"
REASON = "Bench: documents under verification."


# --- database selection and creation (no Django yet) ------------------------------------


def bench_url(database_url: str, name: str) -> str:
    """``database_url`` pointing at database ``name`` instead."""
    parts = urlsplit(database_url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


def require_postgres(database_url: str) -> None:
    scheme = urlsplit(database_url).scheme if database_url else ""
    if scheme not in ("postgres", "postgresql", "pgsql", "postgis"):
        shown = database_url or "(DATABASE_URL not set: the SQLite default)"
        sys.exit(
            f"bench/transitions.py measures PostgreSQL and refuses to run on {shown}.\n"
            "Set DATABASE_URL=postgres://USER@HOST:PORT/ANY_DB; the benchmark creates and uses "
            f"its own database {BENCH_DATABASE!r} on that server."
        )


def libpq_kwargs(url: str) -> dict:
    parts = urlsplit(url)
    kwargs = {"dbname": parts.path.lstrip("/") or "postgres", "host": parts.hostname or None,
              "port": parts.port or None, "user": parts.username or None,
              "password": parts.password or None}
    return {k: v for k, v in kwargs.items() if v is not None}


def ensure_database(server_url: str, name: str, *, fresh: bool = False) -> bool:
    """Create database ``name`` on the server of ``server_url`` unless it exists (or
    drop and recreate it when ``fresh``)."""
    import psycopg2
    from psycopg2 import sql

    last_error = None
    for maintenance in (urlsplit(server_url).path.lstrip("/"), "postgres", "template1"):
        if not maintenance:
            continue
        try:
            conn = psycopg2.connect(**{**libpq_kwargs(server_url), "dbname": maintenance})
        except psycopg2.OperationalError as exc:
            last_error = exc
            continue
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                if fresh:
                    cur.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
                cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
                if cur.fetchone():
                    return False
                cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
                return True
        finally:
            conn.close()
    sys.exit(f"Cannot connect to the PostgreSQL server of DATABASE_URL: {last_error}")


def configure_django(url: str) -> None:
    """Point Django at the bench database and set it up (parent and every worker)."""
    os.environ["DATABASE_URL"] = url
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    # Production-like: no per-query debug logging. The bench database may generate its
    # own development signing key, kept apart from the application's keys.
    os.environ.setdefault("DEBUG", "False")
    os.environ.setdefault("TAMKEEN_DEV_KEYS", "True")
    os.environ.setdefault("TAMKEEN_KEY_DIR", str(ROOT / "var" / "bench-keys"))
    os.environ.setdefault("MEDIA_ROOT", str(ROOT / "var" / "bench-media"))
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()


# --- fixtures through the services ------------------------------------------------------


def prepare(total_projects: int) -> tuple[int, list[int]]:
    """Migrate, then make the users, the program and ``total_projects`` projects (all
    through the services, so each has a real audit chain). Returns (officer id, ids)."""
    from datetime import date
    from decimal import Decimal
    from io import StringIO

    from django.contrib.auth.models import User
    from django.core.management import call_command

    from demo.scenarios import Cast, drive
    from workflow import services
    from workflow.models import ActivitySector, Beneficiary, Commune, GrantProject, Program

    call_command("migrate", verbosity=0, interactive=False)
    for username, role in ((OFFICER, "program_officer"), (AGENT, "association_agent")):
        call_command("create_user", username, "--role", role, "--no-input", stdout=StringIO())
    officer = User.objects.get(username=OFFICER)
    agent = User.objects.get(username=AGENT)
    program, _created = Program.objects.get_or_create(
        code=PROGRAM_CODE,
        defaults={"name": "Bench program", "year": 2025, "envelope": Decimal("100000000.00"),
                  "project_ceiling": Decimal("150000.00")},
    )
    cast = Cast(agent=agent, officer=officer, chair=officer, finance=officer, mentor=officer)
    ids = list(program.projects.order_by("pk").values_list("pk", flat=True)[:total_projects])
    if len(ids) < total_projects:
        commune = Commune.objects.get(code="nador")
        sector = ActivitySector.objects.get(code="sewing")
        for n in range(len(ids), total_projects):
            cin = f"BN{100000 + n}"
            person = Beneficiary.objects.filter(cin=cin).first() or services.beneficiary_create(
                actor=agent, first_name="Fatima", last_name=f"Bench{n}", first_name_ar="فاطمة",
                last_name_ar="الاختبار", cin=cin, phone=f"+2126{n:08d}", gender="F",
                birth_date=date(1990, 1, 1), commune=commune, is_woman_in_difficulty=True,
                consent_given=True, consent_date=date(2025, 1, 1),
            )
            project = services.project_create(
                actor=agent, program=program, beneficiary=person, title=f"Bench project {n}",
                sector=sector, description="Benchmark fixture.", requested_amount="50000.00",
                own_contribution="25000.00",
            )
            ids.append(project.pk)
    # A file under screening, as a real suspension would find it: submitted, with its
    # grant process running (so the post-commit flow hook does its real work).
    for project in GrantProject.objects.filter(pk__in=ids, state="draft"):
        drive(project, "submitted", cast)
    return officer.pk, ids


def prepare_raw_tables(project_ids: list[int]) -> None:
    """Fresh copies of the project and audit tables for the raw baseline: same columns,
    defaults, constraints, indexes, foreign keys and triggers, so the raw writes cost
    what the services' writes cost in the database, and the real ledger stays clean."""
    from django.db import connection

    with connection.cursor() as cur:
        for copy, source in ((RAW_PROJECTS, "workflow_grantproject"), (RAW_AUDIT, "workflow_auditentry")):
            cur.execute(f"DROP TABLE IF EXISTS {copy}")
            cur.execute(f"CREATE TABLE {copy} (LIKE {source} INCLUDING ALL)")
            cur.execute(
                "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE conrelid = %s::regclass AND contype = 'f'", [source],
            )
            for name, definition in cur.fetchall():
                cur.execute(f'ALTER TABLE {copy} ADD CONSTRAINT "{name}_raw" {definition}')
            cur.execute(
                "SELECT pg_get_triggerdef(oid) FROM pg_trigger "
                "WHERE tgrelid = %s::regclass AND NOT tgisinternal", [source],
            )
            for (definition,) in cur.fetchall():
                cur.execute(definition.replace(f" ON public.{source} ", f" ON {copy} ")
                            .replace(f" ON {source} ", f" ON {copy} "))
        cur.execute(f"INSERT INTO {RAW_PROJECTS} SELECT * FROM workflow_grantproject WHERE id = ANY(%s)",
                    [project_ids])


def audit_columns() -> list[tuple]:
    """(name, data type, nullable, has default, max length) of the raw audit copy."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(
            "SELECT column_name, data_type, is_nullable = 'YES', "
            "column_default IS NOT NULL OR is_identity = 'YES', character_maximum_length "
            "FROM information_schema.columns WHERE table_name = %s ORDER BY ordinal_position",
            [RAW_AUDIT],
        )
        return cur.fetchall()


def queries_per_transition(officer_id: int, project_id: int) -> dict:
    """The SQL one project_suspend and one project_resume send, captured."""
    from django.contrib.auth.models import User
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from workflow import services
    from workflow.models import GrantProject

    officer = User.objects.get(pk=officer_id)
    # Warm the caches (and prepare the statements); a project an earlier run left
    # suspended is resumed first.
    if GrantProject.objects.get(pk=project_id).state != "suspended":
        services.project_suspend(project_id=project_id, actor=officer, reason=REASON)
    services.project_resume(project_id=project_id, actor=officer)
    captured = {}
    for name, call in (
        ("project_suspend", lambda: services.project_suspend(project_id=project_id, actor=officer, reason=REASON)),
        ("project_resume", lambda: services.project_resume(project_id=project_id, actor=officer)),
    ):
        with CaptureQueriesContext(connection) as context:
            call()
        captured[name] = [q["sql"] for q in context.captured_queries]
    with connection.cursor() as cur:  # what each EXECUTE runs (core.prepared)
        cur.execute("SELECT name, statement FROM pg_prepared_statements ORDER BY name")
        captured["prepared statements"] = [f"{n}: {text}" for n, text in cur.fetchall()]
    return captured


# --- workers (separate processes) -------------------------------------------------------


def _service_worker(url, project_ids, officer_id, _columns, seconds, barrier, results):
    try:
        configure_django(url)
        from django.contrib.auth.models import User

        from workflow import services
        from workflow.models import GrantProject

        officer = User.objects.get(pk=officer_id)
        states = dict(GrantProject.objects.filter(pk__in=project_ids).values_list("pk", "state"))

        def step(pid):
            if states[pid] == "suspended":
                states[pid] = services.project_resume(project_id=pid, actor=officer).state
            else:
                states[pid] = services.project_suspend(project_id=pid, actor=officer, reason=REASON).state

        # Warm up (connection, permission cache, signing key, prepared statements) outside
        # the timed window.
        step(project_ids[0])
        step(project_ids[0])
        from django.db import connection

        with connection.cursor() as cur:
            cur.execute("SELECT pg_backend_pid()")
            backend_pid = cur.fetchone()[0]
        _timed_loop(step, project_ids, seconds, barrier, results, backend_pid)
    except BaseException as exc:  # reported to the parent, which exits non-zero
        barrier.abort()
        results.put({"error": f"{type(exc).__name__}: {exc}"})


def _raw_worker(url, project_ids, officer_id, columns, seconds, barrier, results):
    try:
        import psycopg2
        from psycopg2.extras import Json

        conn = psycopg2.connect(**libpq_kwargs(url))
        cur = conn.cursor()
        cur.execute(f"SELECT id, state, state_before_suspension FROM {RAW_PROJECTS} WHERE id = ANY(%s)",
                    [project_ids])
        states = {pid: (state, before) for pid, state, before in cur.fetchall()}
        conn.commit()
        insert, values_for = raw_audit_insert(columns, Json, officer_id)

        def step(pid):
            state, before = states[pid]
            if state == "suspended":
                new, new_before, transition, payload = before, "", "resume", {"note": ""}
            else:
                new, new_before, transition, payload = "suspended", state, "suspend", {"reason": REASON}
            cur.execute(
                f"UPDATE {RAW_PROJECTS} SET state = %s, state_before_suspension = %s, updated_at = now() "
                "WHERE id = %s AND state = %s",
                [new, new_before, pid, state],
            )
            if cur.rowcount != 1:
                raise RuntimeError(f"raw project {pid} was not in state {state}")
            cur.execute(insert, values_for(pid, transition, state, new, payload))
            conn.commit()
            states[pid] = (new, new_before)

        step(project_ids[0])
        step(project_ids[0])
        cur.execute("SELECT pg_backend_pid()")
        backend_pid = cur.fetchone()[0]
        conn.commit()
        _timed_loop(step, project_ids, seconds, barrier, results, backend_pid)
        conn.close()
    except BaseException as exc:
        barrier.abort()
        results.put({"error": f"{type(exc).__name__}: {exc}"})


def raw_audit_insert(columns, Json, actor_id):
    """The INSERT of one audit row by hand, filling every column the table requires.

    Columns the services fill from the transition get the same values; any other
    NOT NULL column without a default (hashes, signature, canonical bytes...) gets a
    value of the same type and size, random where it must be unique."""
    known = {"entity_type", "entity_id", "seq", "transition", "from_state", "to_state", "actor_id",
             "actor_role", "request_id", "payload", "created_at"}
    names, placeholders, extra = [], [], []
    for name, data_type, nullable, has_default, max_length in columns:
        if name in known:
            names.append(name)
            placeholders.append(
                f"(SELECT COALESCE(MAX(seq), 0) + 1 FROM {RAW_AUDIT} "
                "WHERE entity_type = %(entity_type)s AND entity_id = %(entity_id)s)"
                if name == "seq" else f"%({name})s"
            )
        elif not nullable and not has_default:
            names.append(name)
            placeholders.append(f"%({name})s")
            extra.append((name, data_type, max_length))

    def values_for(pid, transition, from_state, to_state, payload):
        row = {"entity_type": "workflow.grantproject", "entity_id": str(pid), "transition": transition,
               "from_state": from_state, "to_state": to_state, "actor_id": actor_id,
               "actor_role": "program_officer", "request_id": f"bench-{os.getpid()}",
               "payload": Json(payload), "created_at": time_now()}
        document = json.dumps({k: v for k, v in row.items() if k != "payload"} | {"payload": payload},
                              sort_keys=True, separators=(",", ":"), default=str).encode()
        for name, data_type, max_length in extra:
            if data_type == "bytea":
                row[name] = document if "canonical" in name else os.urandom(64)
            elif data_type in ("text", "character varying", "character"):
                row[name] = os.urandom(32).hex()[: max_length or 64]
            elif data_type in ("integer", "bigint", "smallint", "numeric"):
                row[name] = 0
            elif data_type == "boolean":
                row[name] = False
            elif data_type in ("json", "jsonb"):
                row[name] = Json({})
            else:
                row[name] = time_now()
        return row

    sql = f"INSERT INTO {RAW_AUDIT} ({', '.join(names)}) VALUES ({', '.join(placeholders)})"
    return sql, values_for


def time_now():
    from datetime import UTC, datetime

    return datetime.now(UTC)


def backend_cpu(pid):
    """CPU seconds (user + system) the PostgreSQL backend ``pid`` has used, when the
    server runs on this machine and its /proc entry is readable; else None."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def _timed_loop(step, project_ids, seconds, barrier, results, backend_pid=None):
    latencies = []
    barrier.wait(timeout=120)
    server_started = backend_cpu(backend_pid) if backend_pid else None
    cpu_started = time.process_time()
    started = time.monotonic()
    deadline = started + seconds
    n = 0
    while True:
        t0 = time.monotonic()
        if t0 >= deadline:
            break
        step(project_ids[n % len(project_ids)])
        latencies.append(time.monotonic() - t0)
        n += 1
    cpu = time.process_time() - cpu_started
    server_ended = backend_cpu(backend_pid) if server_started is not None else None
    results.put({"count": n, "started": started, "ended": time.monotonic(), "latencies": latencies,
                 "cpu": cpu, "server_cpu": None if server_ended is None else server_ended - server_started})


def run_phase(mode, url, sets, officer_id, columns, seconds):
    """Run ``len(sets)`` workers of ``mode`` for ``seconds``; return the aggregate."""
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(len(sets))
    results = context.Queue()
    processes = []
    for ids in sets:
        args = (url, ids, officer_id, columns, seconds, barrier, results)
        target = _service_worker if mode == "services" else _raw_worker
        process = context.Process(target=target, args=args, daemon=True)
        process.start()
        processes.append(process)
    reports = []
    give_up = time.monotonic() + seconds + 180
    while len(reports) < len(sets) and time.monotonic() < give_up:
        try:
            reports.append(results.get(timeout=5))
        except Exception:  # queue.Empty: check whether a worker died silently
            if not any(p.is_alive() for p in processes) and results.empty():
                break
    for process in processes:
        process.join(timeout=10)
        if process.is_alive():
            process.terminate()
    errors = [r["error"] for r in reports if "error" in r]
    if errors or len(reports) < len(sets):
        sys.exit(f"{mode} with {len(sets)} worker(s) failed: {errors[0] if errors else 'a worker died'}")
    count = sum(r["count"] for r in reports)
    wall = max(r["ended"] for r in reports) - min(r["started"] for r in reports)
    latencies = sorted(x for r in reports for x in r["latencies"])
    server = [r["server_cpu"] for r in reports]
    return {
        "count": count, "seconds": wall, "rate": count / wall,
        "cpu": sum(r["cpu"] for r in reports) / max(count, 1) * 1000,
        "server_cpu": None if None in server else sum(server) / max(count, 1) * 1000,
        "p50": latencies[len(latencies) // 2] * 1000,
        "p95": latencies[min(len(latencies) - 1, math.ceil(len(latencies) * 0.95) - 1)] * 1000,
    }


def profile_services(officer_id, project_ids, transitions):
    """cProfile ``transitions`` service transitions in this process; print the top."""
    import cProfile
    import pstats

    from django.contrib.auth.models import User

    from workflow import services
    from workflow.models import GrantProject

    officer = User.objects.get(pk=officer_id)
    states = dict(GrantProject.objects.filter(pk__in=project_ids).values_list("pk", "state"))
    profiler = cProfile.Profile()
    profiler.enable()
    for n in range(transitions):
        pid = project_ids[n % len(project_ids)]
        if states[pid] == "suspended":
            states[pid] = services.project_resume(project_id=pid, actor=officer).state
        else:
            states[pid] = services.project_suspend(project_id=pid, actor=officer, reason=REASON).state
    profiler.disable()
    print(f"\ncProfile of {transitions} service transitions in one process (top 25 by cumulative time):")
    pstats.Stats(profiler, stream=sys.stdout).strip_dirs().sort_stats("cumulative").print_stats(25)


# --- main -----------------------------------------------------------------------------


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="timed window per measurement (default 10)")
    parser.add_argument("--workers", default="1,8", help="comma-separated worker counts (default 1,8)")
    parser.add_argument("--projects-per-worker", type=int, default=16, help="projects each worker cycles over")
    parser.add_argument("--fresh", action="store_true",
                        help=f"drop the {BENCH_DATABASE} database first and rebuild it")
    parser.add_argument("--profile", type=int, default=0, metavar="N",
                        help="also cProfile N service transitions in-process and print the top functions")
    options = parser.parse_args(argv)
    try:
        worker_counts = sorted({int(w) for w in options.workers.split(",") if w.strip()})
    except ValueError:
        parser.error("--workers takes comma-separated integers, e.g. 1,8")
    if not worker_counts or worker_counts[0] < 1 or not 0 < options.seconds <= 300:
        parser.error("need worker counts ≥ 1 and 0 < --seconds ≤ 300")

    source_url = os.environ.get("DATABASE_URL", "")
    require_postgres(source_url)
    url = bench_url(source_url, BENCH_DATABASE)
    created = ensure_database(source_url, BENCH_DATABASE, fresh=options.fresh)
    print(f"database: {BENCH_DATABASE} on {urlsplit(url).hostname}:{urlsplit(url).port or 5432}"
          f"{' (created)' if created else ''}")
    configure_django(url)

    from django.db import connection

    t0 = time.monotonic()
    per_worker = options.projects_per_worker
    officer_id, ids = prepare(max(worker_counts) * per_worker)
    prepare_raw_tables(ids)
    columns = audit_columns()
    sets = [ids[i * per_worker:(i + 1) * per_worker] for i in range(max(worker_counts))]
    with connection.cursor() as cur:
        cur.execute("SELECT version(), current_setting('synchronous_commit')")
        version, synchronous_commit = cur.fetchone()
    print(f"server: {version.split(',')[0]}; synchronous_commit={synchronous_commit}; "
          f"{os.cpu_count()} CPU(s) shared by client and server")
    print(f"load average before the runs: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"setup: {len(ids)} projects ({per_worker} per worker) ready in {time.monotonic() - t0:.1f}s")

    captured = queries_per_transition(officer_id, ids[-1])
    print("\nqueries per service transition (CaptureQueriesContext, one call each):")
    definitions = captured.pop("prepared statements")
    for name, queries in captured.items():
        control = [q for q in queries if q.strip().upper() in ("BEGIN", "COMMIT", "ROLLBACK")]
        commit_at = next((i for i, q in enumerate(queries) if q.strip().upper() == "COMMIT"), len(queries))
        inside = [q for q in queries[:commit_at] if q not in control]
        after = queries[commit_at + 1:]
        print(f"  {name}: {len(queries)} round trips = {len(inside)} statements in the transaction"
              f" + {len(control)} BEGIN/COMMIT + {len(after)} after commit (on_commit hooks)")
        for sql in queries:
            print(f"      {' '.join(sql.split())[:110]}")
    print("  raw baseline: 4 round trips = BEGIN, UPDATE project, INSERT audit row, COMMIT")
    if definitions:
        print("  server-side prepared statements (PREPAREd once per connection, then EXECUTEd):")
        for text in definitions:
            print(f"      {' '.join(text.split())}")
    connection.close()

    rows = []
    for workers in worker_counts:
        for mode in ("raw", "services"):
            print(f"running {mode} with {workers} worker(s) for {options.seconds:g}s ...", flush=True)
            result = run_phase(mode, url, sets[:workers], officer_id, columns, options.seconds)
            rows.append((workers, mode, result))

    print()
    print(f"{'workers':>7}  {'mode':<8}  {'transitions':>11}  {'seconds':>7}  {'per second':>10}  "
          f"{'p50 ms':>7}  {'p95 ms':>7}  {'client CPU ms':>13}  {'server CPU ms':>13}")
    for workers, mode, r in rows:
        server = "n/a" if r["server_cpu"] is None else f"{r['server_cpu']:.2f}"
        print(f"{workers:>7}  {mode:<8}  {r['count']:>11}  {r['seconds']:>7.1f}  {r['rate']:>10.1f}  "
              f"{r['p50']:>7.2f}  {r['p95']:>7.2f}  {r['cpu']:>13.2f}  {server:>13}")
    print("(client CPU ms: CPU time the worker processes spent per transition, server excluded;\n"
          " server CPU ms: CPU time of their PostgreSQL backends per transition, when the server\n"
          " runs on this machine — n/a otherwise. On a busy machine both are steadier than rates.)")
    print()
    print(f"{'workers':>7}  {'raw/s':>8}  {'services/s':>10}  {'services/raw':>12}  target ≥ {TARGET_RATIO}")
    by_key = {(w, m): r for w, m, r in rows}
    for workers in worker_counts:
        raw, svc = by_key[(workers, "raw")], by_key[(workers, "services")]
        ratio = svc["rate"] / raw["rate"]
        print(f"{workers:>7}  {raw['rate']:>8.1f}  {svc['rate']:>10.1f}  {ratio:>12.2f}  "
              f"{'met' if ratio >= TARGET_RATIO else 'NOT MET'}")
    totals = {w: (by_key[(w, "raw")], by_key[(w, "services")]) for w in worker_counts}
    if all(r["server_cpu"] is not None and s["server_cpu"] is not None for r, s in totals.values()):
        print("\nCPU per transition, client + server (what bounds the rate when the CPUs are saturated):")
        for workers, (raw, svc) in totals.items():
            raw_total, svc_total = raw["cpu"] + raw["server_cpu"], svc["cpu"] + svc["server_cpu"]
            print(f"  {workers} worker(s): raw {raw_total:.2f} ms, services {svc_total:.2f} ms, "
                  f"raw/services {raw_total / svc_total:.2f}")
    service_p50 = statistics.median(by_key[(w, "services")]["p50"] for w in worker_counts)
    print(f"\nload average after the runs: {' '.join(f'{x:.2f}' for x in os.getloadavg())} "
          "(other work on the machine skews the figures)")
    print(f"median services p50 latency over worker counts: {service_p50:.2f} ms")

    if options.profile:
        profile_services(officer_id, sets[0], options.profile)
    return 0


if __name__ == "__main__":
    sys.exit(main())
