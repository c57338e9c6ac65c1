#!/usr/bin/env python
"""Requests per second under concurrent clients: gunicorn with DEBUG=False, on loopback.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/tamkeen_demo \\
        .venv/bin/python bench/load.py [--seconds 30] [--clients 16] [--workers 3]

The database is a seeded one (``manage.py seed_demo``, or ``seed_scale``). The script
starts gunicorn (``config.wsgi``, ``--workers`` processes, the production settings but
for static files: ``bench/bench_settings.py``) on a free port of 127.0.0.1, opens one
signed-in session per client (each client is one demo login, the roles taken in turn),
and has ``--clients`` threads request that role's pages of ``bench/pages.py`` in turn
(their inbox, lists and searches, the long file's page, the dashboard, the funding,
training, follow-up and people pages; no CSV export, no POST) over keep-alive
connections for ``--seconds``. Printed: requests, requests/s, p50/p95/p99 latency,
errors (any answer but 200, and failed connections), the slowest pages' p50, and the
CPU the gunicorn workers and the whole machine spent per request. gunicorn is stopped
at the end. Only loopback is ever contacted; the run is bounded by ``--seconds``.
"""

import argparse
import http.client
import itertools
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

HOST = "127.0.0.1"
SERVER_ENV = {
    "DJANGO_SETTINGS_MODULE": "bench.bench_settings",
    "DEBUG": "False",
    "SECURE_SSL_REDIRECT": "False",
    "TAMKEEN_REQUIRE_SECOND_FACTOR": "False",
    "ALLOWED_HOSTS": "127.0.0.1,localhost",
}
TARGET_RPS = 60


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def sessions_and_pages():
    """{username: session key} and [(username, url)] of the GET pages worth loading."""
    import pages as page_bench
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
    from django.contrib.sessions.backends.db import SessionStore

    objects = page_bench.sample_objects()
    chosen = [(user, url) for name, user, method, url, *_data in page_bench.pages(objects)
              if method == "get" and "CSV" not in name and "verify" not in name]
    users = get_user_model().objects.filter(username__in={u for u, _url in chosen})
    backend = next(b for b in settings.AUTHENTICATION_BACKENDS if b.endswith("ModelBackend"))
    keys = {}
    for user in users:
        session = SessionStore()
        session[SESSION_KEY], session[BACKEND_SESSION_KEY] = str(user.pk), backend
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.create()
        keys[user.username] = session.session_key
    return keys, [(u, url) for u, url in chosen if u in keys], objects


def start_server(port, workers, log):
    env = {**os.environ, **SERVER_ENV}
    gunicorn = Path(sys.executable).with_name("gunicorn")
    server = subprocess.Popen(
        [str(gunicorn), "config.wsgi:application", "--bind", f"{HOST}:{port}", "--workers", str(workers),
         "--worker-class", "sync", "--keep-alive", "30", "--timeout", "60", "--log-level", "warning"],
        cwd=ROOT, env=env, stdout=log, stderr=log,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"gunicorn stopped (exit {server.returncode}); see {log.name}")
        try:
            connection = http.client.HTTPConnection(HOST, port, timeout=5)
            connection.request("GET", "/accounts/login/")
            connection.getresponse().read()
            return server
        except OSError:
            time.sleep(0.3)
    server.terminate()
    raise SystemExit("gunicorn did not answer within 60 s")


def cpu_seconds(pids) -> float:
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick  # utime + stime
    return total


def children(pid) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def machine_cpu() -> float:
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    busy = sum(int(v) for i, v in enumerate(fields) if i not in (3, 4))  # all but idle and iowait
    return busy / os.sysconf("SC_CLK_TCK")


def client(port, session_key, urls, deadline, results, errors):
    cycle = itertools.cycle(urls)
    connection = None
    headers = {"Cookie": f"sessionid={session_key}", "Connection": "keep-alive"}
    while time.monotonic() < deadline:
        url = next(cycle)
        started = time.perf_counter()
        try:
            if connection is None:
                connection = http.client.HTTPConnection(HOST, port, timeout=30)
            connection.request("GET", url, headers=headers)
            response = connection.getresponse()
            response.read()
            status = response.status
            if response.getheader("Connection", "").lower() == "close":
                connection.close()
                connection = None
        except (OSError, http.client.HTTPException) as error:
            status = type(error).__name__
            if connection is not None:
                connection.close()
            connection = None
        elapsed = (time.perf_counter() - started) * 1000
        results.append((url, elapsed))
        if status != 200:
            errors.append((url, status))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=30, help="how long the clients run (default 30, at most 600)")
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients (default 16)")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn worker processes (default 3)")
    parser.add_argument("--warmup", type=float, default=5, help="seconds of untimed load first (default 5)")
    options = parser.parse_args(argv)
    if not (0 < options.seconds <= 600 and 1 <= options.clients <= 64 and 1 <= options.workers <= 8
            and 0 <= options.warmup <= 60):
        parser.error("--seconds 1–600, --clients 1–64, --workers 1–8, --warmup 0–60")
    os.environ.update(SERVER_ENV)
    sys.path.insert(0, str(ROOT / "bench"))
    import django

    django.setup()
    from django.db import connection

    keys, pages, objects = sessions_and_pages()
    connection.close()
    roles = sorted(keys)
    print(f"database: {connection.vendor} {connection.settings_dict['NAME']}; {objects['files']:,} files; "
          f"{len(pages)} pages over {len(roles)} roles; {options.clients} clients, gunicorn {options.workers} "
          f"sync workers; {options.seconds:.0f} s after {options.warmup:.0f} s of warm-up; "
          f"load {os.getloadavg()[0]:.2f}", flush=True)
    port = free_port()
    log_path = ROOT / "var" / "bench-load-gunicorn.log"
    log_path.parent.mkdir(exist_ok=True)
    with open(log_path, "w") as log:
        server = start_server(port, options.workers, log)
        try:
            plan = []
            for i in range(options.clients):
                role = roles[i % len(roles)]
                urls = [url for user, url in pages if user == role]
                plan.append((keys[role], urls[i // len(roles) % len(urls):] + urls[:i // len(roles) % len(urls)]))
            if options.warmup:
                run(port, plan, options.warmup)
            workers = children(server.pid)
            cpu_before, machine_before = cpu_seconds([server.pid, *workers]), machine_cpu()
            started = time.monotonic()
            results, errors = run(port, plan, options.seconds)
            wall = time.monotonic() - started
            cpu = cpu_seconds([server.pid, *workers]) - cpu_before
            machine = machine_cpu() - machine_before
        finally:
            server.terminate()
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
    report(results, errors, wall, cpu, machine, options)
    return 0


def run(port, plan, seconds):
    results, errors = [], []
    deadline = time.monotonic() + seconds
    threads = [threading.Thread(target=client, args=(port, key, urls, deadline, results, errors))
               for key, urls in plan]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results, errors


def report(results, errors, wall, cpu, machine, options):
    times = sorted(ms for _url, ms in results)
    count = len(times)
    if not count:
        print("no request completed")
        return

    def pct(p):
        return times[min(count - 1, max(0, round(p * count) - 1))]

    rate = count / wall
    print(f"requests: {count:,} in {wall:.1f} s = {rate:.1f} requests/s (target ≥ {TARGET_RPS}: "
          f"{'met' if rate >= TARGET_RPS else 'missed'})")
    print(f"latency: p50 {statistics.median(times):.0f} ms, p95 {pct(0.95):.0f} ms, p99 {pct(0.99):.0f} ms, "
          f"max {times[-1]:.0f} ms")
    by_status = {}
    for _url, status in errors:
        by_status[status] = by_status.get(status, 0) + 1
    print(f"errors: {len(errors):,}" + (f" ({', '.join(f'{s}: {n}' for s, n in sorted(by_status.items(), key=str))})"
                                         if errors else ""))
    print(f"CPU per request: gunicorn {cpu * 1000 / count:.1f} ms, whole machine {machine * 1000 / count:.1f} ms "
          f"(both cores busy {100 * machine / wall / (os.cpu_count() or 1):.0f} %); load {os.getloadavg()[0]:.2f}")
    per_page = {}
    for url, ms in results:
        per_page.setdefault(url, []).append(ms)
    print("slowest pages (p50 ms, requests):")
    for url, values in sorted(per_page.items(), key=lambda item: -statistics.median(item[1]))[:8]:
        print(f"  {statistics.median(values):7.0f}  {len(values):5d}  {url}")


if __name__ == "__main__":
    sys.exit(main())
