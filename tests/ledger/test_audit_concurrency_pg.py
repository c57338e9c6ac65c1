"""Completeness of the ledger under concurrency (DESIGN.md §6, issue 3).

Sixteen writers, each on its own connection and its own projects, suspend and resume
for a few seconds while the integrator runs in a loop. Entry ids are allocated at
INSERT but become visible at COMMIT, so they commit out of order; each writer's
transaction is held open a random 0–3 ms after its entry is inserted (with the project's
row, by ``ledger.writes``), as a slow request would. A control thread runs the naive
"take every id up to max(id)" algorithm alongside. Afterwards every entry must have
exactly one place in the tree, covered by the last signed checkpoint, while the control
must have missed some.
"""

import random
import threading
import time

import pytest
from django.db import connection, connections

from ledger import writes
from ledger.evidence import verify_database
from ledger.integrator import integrate
from ledger.models import AuditEntry, Checkpoint, LedgerLeaf
from tests._audit_support import settle, tree_root  # noqa: F401 - fixture
from workflow import services

pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("reference_data")]

WRITERS = 16
PROJECTS_PER_WRITER = 2
DURATION = 4.0


@pytest.fixture
def slow_commits(monkeypatch):
    """In writer threads only: hold the transaction open 0–3 ms after inserting an entry."""
    write = writes.write_transition

    def linger(*args, **kwargs):
        entry = write(*args, **kwargs)
        if threading.current_thread().name.startswith("writer-"):
            time.sleep(random.uniform(0, 0.003))
        return entry

    monkeypatch.setattr(writes, "write_transition", linger)


def test_every_entry_lands_in_one_checkpoint_while_max_id_misses_some(make_project, cast, slow_commits):
    projects = [[make_project("draft").pk for _ in range(PROJECTS_PER_WRITER)] for _ in range(WRITERS)]
    stop = threading.Event()
    errors: list[str] = []
    written = [0] * WRITERS
    runs: list = []
    control_taken: set[int] = set()
    control_passes = [0]

    def writer(number):
        try:
            suspended = dict.fromkeys(projects[number], False)
            while not stop.is_set():
                for project_id in projects[number]:
                    if suspended[project_id]:
                        services.project_resume(project_id=project_id, actor=cast.officer)
                    else:
                        services.project_suspend(project_id=project_id, actor=cast.officer, reason="Contrôle.")
                    suspended[project_id] = not suspended[project_id]
                    written[number] += 1
        except Exception as error:  # reported below, never swallowed
            errors.append(f"writer {number}: {type(error).__name__}: {error}")
        finally:
            connections.close_all()

    def integrator():
        try:
            while not stop.is_set():
                runs.append(integrate(every_entries=50))
                time.sleep(0.005)
        except Exception as error:
            errors.append(f"integrator: {type(error).__name__}: {error}")
        finally:
            connections.close_all()

    def naive_control():
        """What a checkpointer taking "all ids up to max(id)" would have taken."""
        last_max = 0
        try:
            with connection.cursor() as cursor:
                while True:
                    finishing = stop.is_set()
                    cursor.execute(
                        "SELECT id FROM workflow_auditentry WHERE id > %s "
                        "AND id <= (SELECT max(id) FROM workflow_auditentry)", [last_max],
                    )
                    ids = [row[0] for row in cursor.fetchall()]
                    control_taken.update(ids)
                    last_max = max(ids, default=last_max)
                    control_passes[0] += 1
                    if finishing:
                        return
                    time.sleep(0.0005)
        except Exception as error:
            errors.append(f"control: {type(error).__name__}: {error}")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=writer, args=(i,), name=f"writer-{i}") for i in range(WRITERS)]
    threads += [threading.Thread(target=integrator, name="integrator"),
                threading.Thread(target=naive_control, name="control")]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    time.sleep(DURATION)
    stop.set()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a thread never finished"
    assert errors == []
    assert time.monotonic() - started < 30

    # Every writer wrote, the integrator ran alongside them and checkpointed on the way.
    assert all(n > 0 for n in written), written
    assert sum(r.integrated for r in runs) > 0
    assert Checkpoint.objects.count() >= 2, [(r.integrated, r.checkpoints, r.refused, r.skipped_locked) for r in runs]

    settle()
    final = integrate(force_checkpoint=True)
    assert not final.skipped_locked

    total = AuditEntry.objects.count()
    assert total == sum(written) + WRITERS * PROJECTS_PER_WRITER  # transitions + creations
    entry_ids = set(AuditEntry.objects.values_list("id", flat=True))
    leaves = list(LedgerLeaf.objects.order_by("index").values_list("index", "entry_id"))
    assert [index for index, _ in leaves] == list(range(total))  # contiguous, no gaps
    assert len({entry for _, entry in leaves}) == total  # one leaf per entry ...
    assert {entry for _, entry in leaves} == entry_ids  # ... and every entry has one
    last = Checkpoint.objects.order_by("-size").first()
    assert last.size == total
    assert last.root_hash == tree_root(total)
    sizes = list(Checkpoint.objects.order_by("size").values_list("size", flat=True))
    assert len(sizes) == len(set(sizes))  # one checkpoint per size: no fork
    report = verify_database(full=True)
    assert report.ok, report.summary()
    assert report.uncheckpointed == 0

    # The naive control missed entries whose ids were below a max(id) it had already
    # passed when they committed: they would never have entered any checkpoint.
    missed = entry_ids - control_taken
    print(f"\n{total} entries by {WRITERS} writers in {DURATION} s; {len(runs)} integrator runs, "
          f"{len(sizes)} checkpoints; the max(id) control ({control_passes[0]} passes) missed "
          f"{len(missed)} entries")
    assert missed, "the naive max(id) control missed nothing: make the setup more adversarial"
