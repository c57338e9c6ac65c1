#!/usr/bin/env python
"""Time the main pages as each role sees them, on the database of DATABASE_URL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/tamkeen_scale \\
        .venv/bin/python bench/pages.py [--requests 20] [--warmup 2] [--only inbox,file]

The database is a seeded one: ``manage.py seed_demo`` (the demo size) or
``manage.py seed_scale`` (the scale size); the demo logins are used (``program_officer``,
``association_agent``, …). Each page is requested ``--warmup`` times, then
``--requests`` times with Django's test client, logged in with ``force_login``, under
``DEBUG=False`` with the queries captured (``CaptureQueriesContext``). Printed: a table
of page, role, p50 and p95 time, queries and SQL time of one request, page size, and
the budget check (p95 ≤ 150 ms, size ≤ 300 KB); then, on PostgreSQL, ``EXPLAIN
(ANALYZE, BUFFERS)`` of the slowest query of every page over its budget. A streamed
download (the CSV exports) is timed to its first bytes, its whole time printed beside it,
and has no size budget. Nothing is written to the database except sessions, what "Verify
now" records and the program's kept dashboard figures (computed once before timing, as
beat keeps them); tasks a page sends go to an in-memory broker (``bench_settings.py``). See bench/README.md.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

BUDGET_MS = 150
BUDGET_BYTES = 300 * 1024


def setup_django():
    # Production-like settings, reachable by the test client over plain HTTP.
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.bench_settings"  # static files: see there
    os.environ["DEBUG"] = "False"
    os.environ.setdefault("SECURE_SSL_REDIRECT", "False")
    os.environ.setdefault("TAMKEEN_REQUIRE_SECOND_FACTOR", "False")
    os.environ["ALLOWED_HOSTS"] = "testserver,localhost,127.0.0.1"
    import logging
    import warnings

    import django

    warnings.filterwarnings("ignore", message="No directory at")  # WhiteNoise: no collectstatic here

    django.setup()
    logging.disable(logging.WARNING)  # the pages' access and 404 logs would drown the table


def sample_objects():
    """The objects the pages are about, found in the seeded database."""
    from django.db.models import Count

    from approvals.models import CommitteeSession
    from demo import demo_data
    from workflow.models import GrantProject, Program

    program = Program.objects.get(code=demo_data.PROGRAM["code"])
    files = GrantProject.objects.filter(program=program)
    # The file page is timed on the longest file someone is working on (one with an open
    # task), at both sizes: the page of a file with an open task reads the task and the
    # viewer's roles, so comparing its query count with a closed file's would compare two
    # kinds of page.
    from viewflow.workflow import STATUS

    from workflow.flows import GrantProcess

    working = GrantProcess.objects.filter(
        status=STATUS.NEW, task__status__in=(STATUS.NEW, STATUS.ASSIGNED)).values("artifact_object_id")
    longest = (files.filter(pk__in=working).order_by("-audit_seq", "pk").first()
               or files.order_by("-audit_seq", "pk").first())
    funded = files.filter(state__in=["funding", "equipped", "launched"]).order_by("pk").first()
    session = (CommitteeSession.objects.filter(state__in=["open", "planned"]).order_by("-pk").first()
               or CommitteeSession.objects.order_by("-pk").first())
    name = files.exclude(beneficiary__last_name="").values_list("beneficiary__last_name", flat=True).first()
    counts = dict(files.values_list("state").annotate(n=Count("id")))
    # A page deep in the project list (its "More" link followed 200 times, or the last
    # rows of a small list): the cursor of the row before it, as the pager writes it.
    from core.pagination import encode_cursor
    from workflow.selectors import PROJECT_LIST_KEYS

    listed = GrantProject.objects.order_by(*PROJECT_LIST_KEYS)
    depth = min(5000, max(listed.count() - 10, 0))
    before_deep = listed.values_list("created_at", "pk")[depth:depth + 1].first() if depth else None
    deep_cursor = encode_cursor(0, list(before_deep)) if before_deep else ""
    return {"program": program, "long_file": longest, "funded": funded or longest, "session": session,
            "name": name or "a", "files": sum(counts.values()), "deep_cursor": deep_cursor, "depth": depth}


def pages(objects):
    """[(name, username, method, url[, form data])]"""
    from django.urls import reverse

    program, long_file, funded = objects["program"], objects["long_file"], objects["funded"]
    session = objects["session"]
    found = []
    for role in ("program_officer", "association_agent", "committee_member", "committee_chair", "trainer",
                 "mentor", "finance_officer", "authorizing_officer", "treasurer", "auditor", "admin"):
        found.append((f"inbox ({role})", role, "get", reverse("inbox:index")))
    found += [
        ("project list", "program_officer", "get", reverse("projects:index")),
        (f"project list, row {objects['depth'] + 1:,} on", "program_officer", "get",
         reverse("projects:index") + (f"?after={objects['deep_cursor']}" if objects["deep_cursor"] else "")),
        ("search: name", "program_officer", "get", reverse("projects:index") + f"?q={objects['name']}"),
        ("search: reference", "program_officer", "get",
         reverse("projects:index") + f"?q={long_file.reference}"),
        ("search: state", "program_officer", "get", reverse("projects:index") + "?state=eligible"),
        ("project list (agent)", "association_agent", "get", reverse("projects:index")),
        (f"file page ({long_file.audit_seq} entries)", "program_officer", "get",
         reverse("projects:detail", args=[long_file.pk])),
        ("file page (auditor)", "auditor", "get", reverse("projects:detail", args=[long_file.pk])),
        ("verify now (auditor)", "auditor", "post", reverse("projects:verify", args=[long_file.pk])),
        ("program dashboard", "program_officer", "get", reverse("dashboards:index") + f"?program={program.pk}"),
        # "Refresh now": the program's figures recomputed and kept in the request (what beat
        # does when it changed), or, for a program of more than
        # TAMKEEN_DASHBOARD_INLINE_REFRESH_FILES files, the task sent to the worker.
        ("dashboard: refresh now", "program_officer", "post", reverse("dashboards:refresh"),
         {"program": program.pk}),
        ("program page", "program_officer", "get", reverse("programs:detail", args=[program.pk])),
        ("CSV: projects", "program_officer", "get", reverse("projects:export")),
        ("CSV: payments", "finance_officer", "get", reverse("funding:payments") + f"?program={program.pk}"),
        ("CSV: dashboard payments", "auditor", "get", reverse("dashboards:payments") + f"?program={program.pk}"),
        ("funding inbox", "finance_officer", "get", reverse("funding:index")),
        ("funding: file", "finance_officer", "get", reverse("funding:project", args=[funded.pk])),
        ("funding: orders", "finance_officer", "get", reverse("funding:orders", args=[funded.pk])),
        ("funding (authorizing)", "authorizing_officer", "get", reverse("funding:index")),
        ("funding (treasurer)", "treasurer", "get", reverse("funding:index")),
        ("training", "trainer", "get", reverse("training:index")),
        ("training progress", "program_officer", "get", reverse("training:progress")),
        ("follow-up", "mentor", "get", reverse("followup:index")),
        ("at risk", "program_officer", "get", reverse("followup:at_risk")),
        ("people", "admin", "get", reverse("people:index")),
    ]
    if session is not None:
        found += [("session console", "committee_chair", "get", reverse("committees:console", args=[session.pk])),
                  ("session page", "committee_member", "get", reverse("committees:detail", args=[session.pk])),
                  ("sessions", "program_officer", "get", reverse("committees:index"))]
    return found


def wanted_pages(only: str) -> list[str]:
    return [w for w in only.split(",") if w]


def body_size(response) -> int:
    if getattr(response, "streaming", False):
        return sum(len(chunk) for chunk in response.streaming_content)
    return len(response.content)


def read_body(response, started) -> tuple[int, float | None]:
    """(size, seconds to the first chunk for a streamed download, else None)."""
    if not getattr(response, "streaming", False):
        return len(response.content), None
    size, first = 0, None
    for chunk in response.streaming_content:
        if first is None:
            first = time.perf_counter() - started
        size += len(chunk)
    return size, first if first is not None else time.perf_counter() - started


def measure(client, method, url, *data, requests, warmup, cap_seconds):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    times, firsts, sql_times, status, size, queries = [], [], [], None, 0, []
    began = time.monotonic()
    for i in range(warmup + requests):
        if len(times) >= 3 and time.monotonic() - began > cap_seconds:
            break  # a page this slow is over budget whatever the remaining requests say
        connection.queries_log.clear()  # the log keeps 9,000 queries: past that, captures come back empty
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = getattr(client, method)(url, *data)
            size, first = read_body(response, started)
            elapsed = time.perf_counter() - started
        status = response.status_code
        if i >= warmup:
            times.append(elapsed * 1000)
            if first is not None:
                firsts.append(first * 1000)
            sql_times.append(sum(float(q["time"]) for q in captured.captured_queries) * 1000)
            queries = captured.captured_queries
    result = {"queries": len(queries), "n": len(times), "sql": statistics.median(sql_times), "size": size,
              "status": status, "slowest": max(queries, key=lambda q: float(q["time"]), default=None),
              "streamed": bool(firsts), "download_p50": statistics.median(times)}
    # A streamed download is timed to its first bytes (what the person waits for before
    # the browser's download starts); its whole time is printed beside it.
    timed = sorted(firsts or times)
    result["p50"] = statistics.median(timed)
    result["p95"] = timed[min(len(timed) - 1, max(0, round(0.95 * len(timed)) - 1))]
    return result


def profile(client, method, url, name, requests, *data):
    """Where one page's CPU goes: cProfile over ``requests`` requests after one warm-up."""
    import cProfile
    import pstats

    getattr(client, method)(url, *data)
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(requests):
        body_size(getattr(client, method)(url, *data))
    profiler.disable()
    print(f"\n== profile of {name} ({url}), {requests} requests: top 20 by own time")
    pstats.Stats(profiler).sort_stats("tottime").print_stats(20)
    print("== the same, top 20 by cumulative time")
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(20)


def explain(sql):
    import re

    from django.db import connection

    # A queryset read with .iterator() runs as a server-side cursor: explain its SELECT.
    sql = re.sub(r"^\s*DECLARE\s+\S+\s+.*?CURSOR\s+WITH(?:OUT)?\s+HOLD\s+FOR\s+", "", sql, flags=re.S | re.I)
    if connection.vendor != "postgresql" or not sql.lstrip().upper().startswith(("SELECT", "WITH")):
        return None
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql.replace("%", "%%"))
        return [row[0] for row in cursor.fetchall()]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=20, help="timed requests per page (default 20)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed requests first (default 2)")
    parser.add_argument("--only", default="", help="comma-separated words: time only pages whose name has one")
    parser.add_argument("--cap-seconds", type=float, default=30,
                        help="stop timing a page after this long, once it has 3 timed requests (default 30)")
    parser.add_argument("--profile", type=int, default=0, metavar="N",
                        help="instead of timing, profile N requests of each page (cProfile, top functions by "
                             "own time); pick pages with --only")
    parser.add_argument("--explain-lines", type=int, default=25, help="lines of each plan printed (default 25)")
    options = parser.parse_args(argv)
    if options.requests < 1 or options.warmup < 0:
        parser.error("--requests must be at least 1 and --warmup at least 0")
    setup_django()
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client

    from ledger.models import AuditEntry

    objects = sample_objects()
    entries = AuditEntry.objects.count()
    selected = [page[0] for page in pages(objects)
                if not wanted_pages(options.only) or any(w in page[0] for w in wanted_pages(options.only))]
    if any("dashboard" in name for name in selected):
        # The dashboard reads the program's kept figures, as in production where beat keeps
        # them: computed once here, so no timed (or warm-up) request computes them.
        from reporting.services import program_figures_refresh

        started = time.perf_counter()
        program_figures_refresh(program=objects["program"])
        print(f"dashboard figures of {objects['program'].code} computed and kept in "
              f"{(time.perf_counter() - started) * 1000:.1f} ms")
    print(f"database: {connection.vendor} {connection.settings_dict['NAME']}; {objects['files']:,} files in "
          f"{objects['program'].code}, {entries:,} ledger entries; {options.requests} requests per page after "
          f"{options.warmup} warm-up; load {os.getloadavg()[0]:.2f}")
    users = {u.username: u for u in get_user_model().objects.filter(username__in={p[1] for p in pages(objects)})}
    clients = {}
    wanted = wanted_pages(options.only)
    rows, over = [], []
    header = f"{'page':<34} {'role':<20} {'n':>3} {'p50 ms':>8} {'p95 ms':>8} {'queries':>7} {'SQL ms':>8} {'size':>9}  budget"
    print(header)
    print("-" * len(header))
    for name, username, method, url, *data in pages(objects):
        if wanted and not any(w in name for w in wanted):
            continue
        if username not in users:
            print(f"{name:<34} {username:<20} (no such login: skipped)")
            continue
        # Signed in anew for every page: a long run outlasts the money roles' idle timeout
        # (TAMKEEN_SESSION_IDLE_SECONDS_MONEY), whose pages would then time a redirect.
        clients[username] = Client()
        clients[username].force_login(users[username])
        if options.profile:
            profile(clients[username], method, url, name, options.profile, *data)
            continue
        result = measure(clients[username], method, url, *data, requests=options.requests, warmup=options.warmup,
                         cap_seconds=options.cap_seconds)
        fine = (result["p95"] <= BUDGET_MS and result["status"] < 400
                and (result["streamed"] or result["size"] <= BUDGET_BYTES))
        verdict = ("ok" if fine else "OVER") + ("" if result["status"] == 200 else f" (HTTP {result['status']})")
        if result["streamed"]:
            verdict += f" (streamed: first bytes; whole download p50 {result['download_p50'] / 1000:,.2f} s)"
        size = f"{result['size'] / 1024:,.1f} KB"
        print(f"{name:<34} {username:<20} {result['n']:3d} {result['p50']:8.1f} {result['p95']:8.1f} {result['queries']:7d} "
              f"{result['sql']:8.1f} {size:>9}  {verdict}", flush=True)
        rows.append((name, result))
        if not fine:
            over.append((name, url, result))
    if options.profile:
        return 0
    print(f"\n{len(rows) - len(over)} of {len(rows)} pages within budget (p95 ≤ {BUDGET_MS} ms, "
          f"size ≤ {BUDGET_BYTES // 1024} KB; a streamed download: its first bytes ≤ {BUDGET_MS} ms, "
          f"any size); load {os.getloadavg()[0]:.2f}")
    for name, url, result in over:
        slowest = result["slowest"]
        if slowest is None:
            continue
        print(f"\n== {name} ({url}): slowest query {float(slowest['time']) * 1000:.1f} ms of "
              f"{result['queries']}")
        print("   " + slowest["sql"][:600] + (" …" if len(slowest["sql"]) > 600 else ""))
        try:
            plan = explain(slowest["sql"])
        except Exception as error:  # a plan is a diagnosis: never stop the benchmark for one
            connection.rollback() if not connection.get_autocommit() else None
            print(f"   (EXPLAIN failed: {error})")
            continue
        if plan:
            for line in plan[:options.explain_lines]:
                print("   " + line)
            if len(plan) > options.explain_lines:
                print(f"   … {len(plan) - options.explain_lines} more lines")
    return 0


if __name__ == "__main__":
    sys.exit(main())
