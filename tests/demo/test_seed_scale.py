"""manage.py seed_scale (demo.scale): files cloned in bulk with signed chains that the
verifiers accept, the exact number of files and entries asked for, long timelines,
inbox tasks for the clones, and clear errors for bad arguments. SQLite here; the same
checks run on PostgreSQL (COPY, the integrator's horizon, two signing processes) in
test_seed_scale_pg.py."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.models import Count

from demo import scale
from ledger.evidence import verify_database
from ledger.machines import live_states
from ledger.models import AuditEntry, Checkpoint, LedgerLeaf
from workflow.models import GrantProject, Program

FILES, ENTRIES, SAMPLE = 30, 2000, 16
ARGS = ["--files", str(FILES), "--entries", str(ENTRIES), "--sample", str(SAMPLE),
        "--long-files", "2", "--long-entries", "400"]


def seed(*args):
    out = StringIO()
    call_command("seed_scale", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def check_scale_data_set(output):
    program = scale.demo_program()
    assert program.projects.count() == FILES
    assert AuditEntry.objects.count() == ENTRIES
    clones = GrantProject.objects.filter(beneficiary__cin__startswith=scale.CLONE_CIN_PREFIX)
    assert clones.count() == FILES - SAMPLE
    # Every entry has its place in the tree, under a signed checkpoint.
    assert LedgerLeaf.objects.count() == ENTRIES
    assert Checkpoint.objects.order_by("-size").first().size == ENTRIES
    # The whole ledger verifies, signatures included, against the live rows.
    report = verify_database(full=True)
    assert report.ok, report.problems[:5]
    assert report.signatures_checked == ENTRIES
    # Each clone's row keeps its chain's head, and its state is its chain's last one.
    live = live_states()["workflow.grantproject"]
    for project in clones:
        last = AuditEntry.objects.filter(entity_type="workflow.grantproject", entity_id=str(project.pk)) \
            .order_by("-seq").first()
        assert (project.audit_seq, project.audit_head, project.state) == (last.seq, last.entry_hash, last.to_state)
        assert live[str(project.pk)]["seq"] == last.seq
    # Two long timelines of 400 state-keeping entries on top of their history.
    longest = (AuditEntry.objects.filter(entity_type="workflow.grantproject", transition=scale.EXTRA_TRANSITION)
               .values("entity_id").annotate(n=Count("id")).order_by("-n"))
    assert [row["n"] for row in longest[:2]] == [400, 400]
    # The clones' viewflow processes carry open tasks, as the templates' do.
    from viewflow.workflow.models import Task

    clone_ids = list(clones.values_list("pk", flat=True))
    open_tasks = Task.objects.filter(process__artifact_object_id__in=clone_ids, status__in=["NEW", "ASSIGNED"])
    assert open_tasks.count() > 0
    # Each clone's follow-up plan points at its own latest report, as visit_report keeps it.
    from followup.models import FollowUpPlan, VisitState

    reported = 0
    for plan in FollowUpPlan.objects.filter(project__in=clones).select_related("latest_report"):
        last = plan.visits.filter(state=VisitState.REPORTED).order_by("-sequence").first()
        assert plan.latest_report_id == (last.report.pk if last else None)
        assert plan.latest_at_risk == bool(last and last.report.risk_reasons)
        reported += last is not None
    assert reported > 0
    assert f"{FILES:,} files, {ENTRIES:,} ledger entries" in output


@pytest.mark.django_db(transaction=True)  # on PostgreSQL the integrator takes only committed entries
@pytest.mark.usefixtures("reference_data")  # a transactional test starts without the migrations' data
def test_seed_scale_builds_files_and_entries_that_verify():
    output = seed(*ARGS, "--workers", "1")
    check_scale_data_set(output)
    # Run again with the same numbers: nothing to add, still intact.
    again = seed(*ARGS, "--workers", "1")
    assert "0 files and 0 entries added" in again
    assert verify_database().ok


@pytest.mark.django_db
@pytest.mark.parametrize("args", [
    ["--files", "0", "--entries", "10"],
    ["--files", "10", "--entries", "-1"],
    ["--files", "10", "--entries", "10", "--workers", "0"],
])
def test_seed_scale_refuses_bad_numbers(args):
    with pytest.raises(CommandError, match="at least"):
        seed(*args)


@pytest.mark.django_db
def test_seed_scale_fresh_drops_nothing_without_a_yes():
    """--fresh drops a database: on SQLite it is refused, and on PostgreSQL it asks, so
    that without a terminal and without --noinput it stops before dropping anything."""
    before = Program.objects.count()
    expected = "PostgreSQL" if connection.vendor != "postgresql" else "--noinput"
    with pytest.raises(CommandError, match=expected):
        seed("--files", "10", "--entries", "10", "--fresh")
    assert Program.objects.count() == before


@pytest.mark.django_db
def test_seed_scale_on_an_unmigrated_database_says_to_migrate(monkeypatch):
    from django.db.migrations.executor import MigrationExecutor

    monkeypatch.setattr(MigrationExecutor, "migration_plan", lambda self, targets: [("a migration", False)])
    before = (Program.objects.count(), AuditEntry.objects.count())
    with pytest.raises(CommandError, match="1 unapplied migration.*manage.py migrate"):
        seed("--files", "10", "--entries", "10")
    assert (Program.objects.count(), AuditEntry.objects.count()) == before
