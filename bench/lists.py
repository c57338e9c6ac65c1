#!/usr/bin/env python
"""Lists, inboxes, searches and exports at scale: timings, page sizes and plans.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/tamkeen \\
        .venv/bin/python bench/lists.py [--projects 20000] [--runs 20] [--fresh]

Works in its own database, ``tamkeen_bench_lists``, on the server of DATABASE_URL
(PostgreSQL only). It fills it once (``--fresh`` rebuilds it): one project driven
through the services to ``submitted`` (a real grant process and screening task), then
``--projects`` projects and beneficiaries written in bulk, each with a copy of that
process, four finished tasks and one open screening task (five tasks a file); a tenth
of the open tasks are assigned to a second officer. Then it prints, for each measure,
p50/p95 over ``--runs`` and the plan's key lines (``EXPLAIN (ANALYZE, BUFFERS)``):

- the inbox: the old ``owner = me OR (owner IS NULL AND permission IN …)`` first page
  against the two keyset queries (``workflow.inbox.inbox_segments``), and the menu's
  exact count against the capped one;
- the project list: first page and a page 400 pages deep, OFFSET against keyset;
- the project search by a beneficiary's name and by a title (trigram indexes);
- pages through the test client (HTML bytes and queries): the inbox, the project list,
  viewflow's queue;
- the projects CSV export: time to stream it, its size and the Python heap's peak
  while streaming (tracemalloc).

Figures are printed, never asserted: they belong in the notes, not in the tests.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for folder in (ROOT, ROOT / "bench"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

from transitions import bench_url, configure_django, ensure_database, require_postgres  # noqa: E402

DATABASE = "tamkeen_bench_lists"
PROGRAM_CODE = "bench-lists"
OFFICER, OTHER, AGENT, AUDITOR = "lists_officer", "lists_officer2", "lists_agent", "lists_auditor"
BATCH = 5000


def fill(total: int) -> None:
    from datetime import date, timedelta
    from decimal import Decimal
    from io import StringIO

    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone
    from viewflow.workflow.models import Task

    from demo.scenarios import Cast, drive
    from workflow import services
    from workflow.flows import GrantFlow, process_for
    from workflow.models import ActivitySector, Beneficiary, Commune, GrantProject, Program

    call_command("migrate", verbosity=0, interactive=False)
    for username, role in ((OFFICER, "program_officer"), (OTHER, "program_officer"), (AGENT, "association_agent"),
                           (AUDITOR, "auditor")):
        if not User.objects.filter(username=username).exists():
            call_command("create_user", username, "--role", role, "--no-input", stdout=StringIO())
    officer, other, agent = (User.objects.get(username=name) for name in (OFFICER, OTHER, AGENT))
    program, _ = Program.objects.get_or_create(
        code=PROGRAM_CODE, defaults={"name": "Bench lists", "year": 2025, "envelope": Decimal("900000000.00"),
                                     "project_ceiling": Decimal("150000.00")})
    have = GrantProject.objects.filter(program=program).count()
    if have >= total:
        return
    commune = Commune.objects.get(code="nador")
    sector = ActivitySector.objects.get(code="sewing")
    cast = Cast(agent=agent, officer=officer, chair=officer, finance=officer, mentor=officer)
    if not have:
        person = services.beneficiary_create(
            actor=agent, first_name="Fatima", last_name="Template", first_name_ar="فاطمة", last_name_ar="النموذج",
            cin="LT000001", phone="+212600000001", gender="F", birth_date=date(1990, 1, 1), commune=commune,
            is_woman_in_difficulty=True, consent_given=True, consent_date=date(2025, 1, 1))
        real = services.project_create(
            actor=agent, program=program, beneficiary=person, title="Template project", sector=sector,
            description="Benchmark fixture.", requested_amount="50000.00", own_contribution="25000.00")
        drive(real, "submitted", cast)
    real = GrantProject.objects.filter(program=program).order_by("pk").first()
    template_process = process_for(real)
    template_task = template_process.task_set.get(status="NEW")
    start = timezone.now() - timedelta(days=400)
    first_names = ["Khadija", "Fatima", "Nadia", "Amina", "Samira", "Hanane", "Latifa", "Naima"]
    trades = ["Atelier de couture", "Boulangerie", "Élevage caprin", "Épicerie", "Coiffure", "Menuiserie"]
    done = have
    while done < total:
        n = min(BATCH, total - done)
        people = Beneficiary.objects.bulk_create([
            Beneficiary(first_name=first_names[i % 8], last_name=f"Bulk{i:06d}", first_name_ar="خديجة",
                        last_name_ar=f"بلك{i}", cin=f"LB{i:06d}", phone="+212612345678", gender="F",
                        birth_date=date(1988, 4, 2), commune=commune, is_woman_in_difficulty=True,
                        consent_given=True, consent_date=date(2025, 1, 5), created_by=agent)
            for i in range(done, done + n)])
        projects = GrantProject.objects.bulk_create([
            GrantProject(program=program, beneficiary=person, title=f"{trades[i % 6]} {person.last_name}",
                         sector=sector, description="Projet généré.", requested_amount=Decimal("50000.00"),
                         own_contribution=Decimal("20000.00"), state="submitted", created_by=agent)
            for i, person in enumerate(people, start=done)])
        with connection.cursor() as cur:  # spread creation over 400 days (auto_now_add set now)
            cur.execute("UPDATE workflow_grantproject SET created_at = %s + (id %% 400) * interval '1 day' "
                        "+ (id %% 86400) * interval '1 second' WHERE id = ANY(%s)",
                        [start, [p.pk for p in projects]])
        Process = type(template_process)
        processes = Process.objects.bulk_create([
            Process(flow_class=template_process.flow_class, status=template_process.status,
                    artifact_content_type=template_process.artifact_content_type, artifact_object_id=p.pk,
                    data={**template_process.data, "project_id": p.pk})
            for p in projects])
        tasks = []
        for i, process in enumerate(processes, start=done):
            created = start + timedelta(minutes=i)
            for _ in range(4):  # the history: finished tasks
                tasks.append(Task(flow_task=template_task.flow_task, flow_task_type=template_task.flow_task_type,
                                  process=process, status="DONE", owner=officer, created=created,
                                  finished=created, owner_permission=template_task.owner_permission))
            assigned = i % 10 == 0
            tasks.append(Task(flow_task=GrantFlow.screening, flow_task_type=template_task.flow_task_type,
                              process=process, status="ASSIGNED" if assigned else "NEW",
                              owner=other if assigned else None, created=created,
                              owner_permission=template_task.owner_permission))
        Task.objects.bulk_create(tasks)
        with connection.cursor() as cur:  # auto_now_add: the tasks' ages, set afterwards
            cur.execute("UPDATE viewflow_task SET created = %s + (process_id %% 400) * interval '1 day' "
                        "+ (id %% 86400) * interval '1 second' WHERE process_id = ANY(%s)",
                        [start, [p.pk for p in processes]])
        done += n
        print(f"  filled {done}/{total} projects", flush=True)
    with connection.cursor() as cur:
        # A bulk load leaves the trigram indexes' new entries in GIN's pending list, read
        # sequentially on every search until a vacuum merges them (autovacuum does, later).
        for table in ("workflow_grantproject", "workflow_beneficiary", "viewflow_task", "viewflow_process"):
            cur.execute(f"VACUUM ANALYZE {table}")


def timed(fn, runs):
    samples = []
    for _ in range(runs):
        began = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - began) * 1000)
    samples.sort()
    return statistics.median(samples), samples[max(0, int(round(0.95 * len(samples))) - 1)]


def plan(queryset, *, lines=8):
    from django.db import connection

    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cur:
        cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
        rows = [row[0] for row in cur.fetchall()]
    keep = [row for row in rows if any(word in row for word in (
        "Scan", "Bitmap", "Sort", "Limit", "Join", "Nested", "Append", "Unique", "HashAggregate", "Execution"))]
    return "\n".join("      " + row for row in keep[:lines] + [rows[-1]] if row)


def report(label, fn, runs, queryset=None):
    p50, p95 = timed(fn, runs)
    print(f"{label:<58} p50 {p50:8.2f} ms  p95 {p95:8.2f} ms")
    if queryset is not None:
        print(plan(queryset))


def measure(runs: int) -> None:
    import tracemalloc

    from django.contrib.auth.models import User
    from django.db import connection
    from django.test import Client

    from core.pagination import encode_cursor, keyset_page
    from workflow import inbox, selectors
    from workflow.models import GrantProject

    other = User.objects.get(username=OTHER)
    officer = User.objects.get(username=OFFICER)
    tasks = connection.cursor()
    tasks.execute("SELECT count(*) FROM viewflow_task")
    print(f"database: {GrantProject.objects.count()} projects, {tasks.fetchone()[0]} workflow tasks\n")

    print("== inbox (the officer with assigned tasks) ==")
    old = inbox.inbox_tasks(other)
    report("old: one query, owner = me OR claimable, first 25", lambda: list(old[:25]), runs, old[:25])
    segments = inbox.inbox_segments(other)
    report("new: keyset, assigned to me then claimable, first 25",
           lambda: keyset_page(inbox.inbox_segments(other), {}, keys=inbox.KEYS).rows, runs)
    print("    assigned to me:")
    print(plan(segments[0][:26]))
    print("    claimable by my permissions:")
    print(plan(segments[1][:26]))
    report("old: menu badge, exact count", lambda: old.count(), runs)
    report("new: menu badge, count capped at 99", lambda: inbox.inbox_count(other), runs)

    print("\n== project list ==")
    projects = selectors.project_list()
    report("first page (keyset, 21 rows)", lambda: keyset_page(selectors.project_list(), {},
                                                                keys=selectors.PROJECT_LIST_KEYS, size=20).rows,
           runs, projects[:21])
    offset = min(8000, GrantProject.objects.count() - 21)
    deep = projects[offset - 1:offset].get()
    cursor = encode_cursor(0, [deep.created_at, deep.pk])
    report(f"page {offset // 20 + 1} by OFFSET {offset}", lambda: list(selectors.project_list()[offset:offset + 20]),
           runs, projects[offset:offset + 20])
    report(f"page {offset // 20 + 1} by keyset (after its cursor)",
           lambda: keyset_page(selectors.project_list(), {"after": cursor}, keys=selectors.PROJECT_LIST_KEYS,
                               size=20).rows, runs)
    report("old page count (COUNT(*) of the list)", lambda: selectors.project_list().count(), runs)

    print("\n== searches ==")
    for label, term in (("a beneficiary's name", "Bulk001234"), ("a title", "Boulangerie Bulk00999"),
                        ("an Arabic name", "بلك1234"), ("a common word", "Atelier")):
        found = selectors.project_list(search=term)
        report(f"search {label} ({term!r}), first page", lambda found=found: list(found[:21]), runs, found[:21])

    print("\n== pages (test client, DEBUG off) ==")
    from django.conf import settings

    # No collectstatic here: pages name their static files unhashed.
    settings.STORAGES = {**settings.STORAGES,
                         "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    client = Client()
    client.force_login(officer)
    for label, url in (("inbox", "/inbox/"), ("project list", "/projects/"),
                       ("project search", "/projects/?q=Bulk001234"), ("viewflow queue", "/grant/queue/")):
        client.get(url, secure=True)
        # The log is reset when a request starts (django.db.reset_queries): read it after.
        connection.force_debug_cursor = True
        response = client.get(url, secure=True)
        captured = list(connection.queries)
        connection.force_debug_cursor = False
        size = len(response.content)
        sql_ms = sum(float(query["time"]) for query in captured) * 1000
        p50, p95 = timed(lambda url=url: client.get(url, secure=True), runs)
        print(f"{label:<20} {url:<28} status {response.status_code}  {size:>9} bytes  "
              f"{len(captured)} queries ({sql_ms:.1f} ms SQL)  p50 {p50:7.1f} ms  p95 {p95:7.1f} ms")

    print("\n== projects CSV export (streamed) ==")
    from django.test import RequestFactory

    from reporting.views.exports import ProjectsCsvView

    # The view itself (the second-factor gate of the auditor's session is not measured).
    request = RequestFactory().get("/projects/export.csv")
    request.user = User.objects.get(username=AUDITOR)

    def export():
        response = ProjectsCsvView.as_view()(request)
        return response, sum(len(chunk) for chunk in response.streaming_content)

    began = time.perf_counter()
    response, total = export()
    elapsed = time.perf_counter() - began
    tracemalloc.start()  # a second pass, for the heap's peak (tracemalloc slows it down)
    export()
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"status {response.status_code}, streaming {response.streaming}, {total} bytes in {elapsed:.2f} s, "
          f"Python heap peak while streaming {peak / 1e6:.1f} MB")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--projects", type=int, default=20000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--fresh", action="store_true")
    args = parser.parse_args()
    database_url = os.environ.get("DATABASE_URL", "")
    require_postgres(database_url)
    ensure_database(database_url, DATABASE, fresh=args.fresh)
    configure_django(bench_url(database_url, DATABASE))
    fill(args.projects)
    measure(args.runs)


if __name__ == "__main__":
    main()
