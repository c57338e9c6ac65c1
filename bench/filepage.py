"""The file page and the program dashboard at scale: time, queries and size per page.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/tamkeen \
        .venv/bin/python bench/filepage.py [--entries 2000] [--files 15000] [--requests 20] [--fresh]

PostgreSQL only. It works in its own database, ``tamkeen_bench_filepage`` (built once,
``--fresh`` rebuilds it): one file whose chain is grown through the services
(suspensions and resumptions) to about ``--entries`` entries, and ``--files`` launched
files with two reported visits each (the latest at risk for every other file) and a
planned third, written in bulk (read-only fixtures for the dashboard). Then, with a
Django test client and ``DEBUG=False``, it requests each page ``--requests`` times and
prints p50/p95, queries and size: the file page (newest entries, an older page) as a
program officer, the same after the auditor's "Verify now", and the program dashboard.
The figures are printed, never asserted.
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

from bench.transitions import bench_url, configure_django, ensure_database, require_postgres  # noqa: E402

DATABASE = "tamkeen_bench_filepage"
PROGRAM_CODE = "bench-filepage"
OFFICER, AUDITOR, AGENT, MENTOR, CHAIR = "fp_officer", "fp_auditor", "fp_agent", "fp_mentor", "fp_chair"


def build(entries: int, files: int) -> None:
    """Migrate, then the users, the program, the long file and the dashboard's files."""
    from datetime import date, timedelta
    from decimal import Decimal
    from io import StringIO

    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.utils import timezone

    from demo.scenarios import Cast, drive
    from followup.models import FollowUpPlan, FollowUpVisit, VisitReport
    from workflow import services
    from workflow.models import ActivitySector, Beneficiary, Commune, GrantProject, Program

    call_command("migrate", verbosity=0, interactive=False)
    roles = ((OFFICER, "program_officer"), (AUDITOR, "auditor"), (AGENT, "association_agent"),
             (MENTOR, "mentor"), (CHAIR, "committee_chair"))
    for username, role in roles:
        if not User.objects.filter(username=username).exists():
            call_command("create_user", username, "--role", role, "--no-input", stdout=StringIO())
    officer, agent, mentor, chair = (User.objects.get(username=name) for name in (OFFICER, AGENT, MENTOR, CHAIR))
    program, _created = Program.objects.get_or_create(
        code=PROGRAM_CODE, defaults={"name": "Bench file page", "year": 2025, "envelope": Decimal("1000000000.00"),
                                     "project_ceiling": Decimal("150000.00")})
    commune, sector = Commune.objects.get(code="nador"), ActivitySector.objects.get(code="sewing")
    cast = Cast(agent=agent, officer=officer, chair=chair, finance=officer, mentor=mentor)

    long_file = GrantProject.objects.filter(program=program, title="Bench long history").first()
    if long_file is None:
        person = services.beneficiary_create(
            actor=agent, first_name="Fatima", last_name="Longue", first_name_ar="فاطمة", last_name_ar="الطويلة",
            cin="FP000001", phone="+212600000001", gender="F", birth_date=date(1990, 1, 1), commune=commune,
            is_woman_in_difficulty=True, consent_given=True, consent_date=date(2025, 1, 1))
        long_file = services.project_create(
            actor=agent, program=program, beneficiary=person, title="Bench long history", sector=sector,
            description="Benchmark fixture.", requested_amount="50000.00", own_contribution="25000.00")
        long_file = drive(long_file, "submitted", cast)
    started = time.perf_counter()
    while GrantProject.objects.get(pk=long_file.pk).audit_seq < entries:
        services.project_suspend(project_id=long_file.pk, actor=officer, reason="Contrôle sur place.")
        services.project_resume(project_id=long_file.pk, actor=officer)
    grown = time.perf_counter() - started

    have = GrantProject.objects.filter(program=program, state="launched").count()
    started = time.perf_counter()
    batch = 2000
    for first in range(have, files, batch):
        n = min(batch, files - first)
        people = Beneficiary.objects.bulk_create([
            Beneficiary(first_name="F", last_name=f"Suivi{first + i}", first_name_ar="ف", last_name_ar="س",
                        cin=f"FQ{first + i:06d}", phone="+212612345678", gender="F", birth_date=date(1990, 1, 1),
                        commune=commune, is_woman_in_difficulty=True, created_by=agent)
            for i in range(n)])
        projects = GrantProject.objects.bulk_create([
            GrantProject(program=program, beneficiary=person, title=f"Suivi {person.last_name}", sector=sector,
                         description="d", requested_amount=Decimal("1000.00"), state="launched", created_by=agent)
            for person in people])
        launched = timezone.localdate() - timedelta(days=200)
        plans = FollowUpPlan.objects.bulk_create([
            FollowUpPlan(project=project, launched_on=launched, offsets=[1, 3, 12], created_by=officer)
            for project in projects])
        now = timezone.now()
        visits = FollowUpVisit.objects.bulk_create([
            FollowUpVisit(plan=plan, project=plan.project, sequence=k, offset_months=months,
                          due_on=launched + timedelta(days=30 * months), mentor=mentor,
                          state="reported" if k < 3 else "planned", reported_at=now if k < 3 else None)
            for plan in plans for k, months in ((1, 1), (2, 3), (3, 12))])
        VisitReport.objects.bulk_create([
            VisitReport(visit=visit, visited_on=visit.due_on, activity_running=True,
                        monthly_revenue=Decimal("4000.00"), monthly_profit=Decimal("1500.00"), jobs_created=1,
                        equipment_present=True, equipment_in_use=True, legal_status="auto_entrepreneur",
                        recommendation="continue", reported_by=mentor, reported_at=now,
                        risk_reasons=["activity_stopped"] if visit.sequence == 2 and visit.project_id % 2 else [])
            for visit in visits if visit.sequence < 3])
        # Written without followup.services.visit_report: point the plans at their latest report.
        FollowUpPlan.refill_latest_reports(FollowUpPlan.objects.filter(pk__in=[plan.pk for plan in plans]))
    with __import__("django.db", fromlist=["connection"]).connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(f"fixtures: file {long_file.pk} with {GrantProject.objects.get(pk=long_file.pk).audit_seq} entries "
          f"(grown in {grown:.1f} s); {GrantProject.objects.filter(program=program, state='launched').count()} "
          f"launched files, {VisitReport.objects.filter(visit__project__program=program).count()} visit reports "
          f"(bulk, {time.perf_counter() - started:.1f} s)")


def measure(client, method, url, requests: int) -> dict:
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext

    def call(address):
        return getattr(client, method)(address, secure=True)  # DEBUG=False: HTTPS only

    call(url)  # warm up
    times, sql_ms = [], []
    for _ in range(requests):
        reset_queries()
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = call(url)
            times.append((time.perf_counter() - started) * 1000)
        sql_ms.append(sum(float(q["time"]) for q in captured.captured_queries) * 1000)
    times.sort()
    return {"status": response.status_code, "p50": statistics.median(times),
            "p95": times[min(len(times) - 1, round(0.95 * (len(times) - 1)))],
            "queries": len(captured.captured_queries), "sql": statistics.median(sql_ms),
            "bytes": len(response.content)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=2000)
    parser.add_argument("--files", type=int, default=15000)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--fresh", action="store_true")
    options = parser.parse_args()
    database_url = os.environ.get("DATABASE_URL", "")
    require_postgres(database_url)
    url = bench_url(database_url, DATABASE)
    ensure_database(database_url, DATABASE, fresh=options.fresh)
    # The auditor is measured without the second factor's gate (no device in the bench).
    os.environ.setdefault("TAMKEEN_REQUIRE_SECOND_FACTOR", "False")
    configure_django(url)
    build(options.entries, options.files)

    from django.contrib.auth.models import User
    from django.test import Client
    from django.test.utils import setup_test_environment

    from workflow.models import GrantProject

    setup_test_environment()  # the test client's response.content, ALLOWED_HOSTS
    from django.conf import settings

    settings.ALLOWED_HOSTS = ["*"]
    # No collectstatic here: static addresses unhashed, as with DEBUG on.
    settings.STORAGES = {**settings.STORAGES,
                         "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
    long_file = GrantProject.objects.get(program__code=PROGRAM_CODE, title="Bench long history")
    program_id = long_file.program_id
    officer, auditor = Client(HTTP_ACCEPT_LANGUAGE="fr"), Client(HTTP_ACCEPT_LANGUAGE="fr")
    officer.force_login(User.objects.get(username=OFFICER))
    auditor.force_login(User.objects.get(username=AUDITOR))
    page = f"/projects/{long_file.pk}/"
    rows = [
        ("file page, newest entries", officer, "get", page),
        ("file page, an older page", officer, "get", f"{page}?before={long_file.audit_seq // 2}"),
        ("auditor's Verify now (POST)", auditor, "post", f"{page}verify/"),
        ("file page after Verify now", officer, "get", page),
        ("program dashboard", officer, "get", f"/dashboards/?program={program_id}"),
    ]
    print(f"{'page':32} {'status':>6} {'p50 ms':>8} {'p95 ms':>8} {'queries':>7} {'SQL ms':>7} {'bytes':>9}")
    for label, client, method, address in rows:
        requests = max(3, options.requests // 4) if method == "post" else options.requests
        figures = measure(client, method, address, requests)
        print(f"{label:32} {figures['status']:>6} {figures['p50']:>8.1f} {figures['p95']:>8.1f} "
              f"{figures['queries']:>7} {figures['sql']:>7.1f} {figures['bytes']:>9}")


if __name__ == "__main__":
    main()
