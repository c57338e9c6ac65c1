"""Writes of the reporting app: the dashboards' kept figures (``ProgramFigures``).

The figures are derived data: recomputing them changes no decision and no evidence, so
no audit entry is written and no permission is checked here (the view that offers
"Refresh now" checks the dashboard's permission; beat and the management command are
operators' tools).
"""

import logging
import time
from dataclasses import dataclass, field

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from core.transactions import consistent_read
from reporting import changes, snapshot
from reporting.models import ProgramFigures
from reporting.selectors import figure_counts
from workflow.models import Program

logger = logging.getLogger("tamkeen.reporting")
_COLUMNS = ("program", "computed_at", "figures", "ledger_id", "ledger_horizon", "ledger_snapshot", "checked_at")


def program_figures_refresh(*, program) -> ProgramFigures | None:
    """Compute ``program``'s dashboard figures now and keep them, with the ledger
    position they include. The figures are read in one consistent snapshot
    (``consistent_read``), then stored by one upsert that never replaces newer figures
    with older ones: two refreshes at once (beat, the button, the command) both succeed
    and the most recent read wins. Returns the stored row (a concurrent refresh's if it
    was newer), or None when the program was deleted meanwhile."""
    with consistent_read():
        # The ledger position first: it fixes the snapshot every figure is read in.
        position = changes.ledger_position()
        computed_at = timezone.now()
        figures = snapshot.dump(figure_counts(program))
    try:
        with transaction.atomic():
            _upsert(ProgramFigures(program_id=program.pk, computed_at=computed_at, figures=figures,
                                   ledger_id=position.entry_id, ledger_horizon=position.horizon,
                                   ledger_snapshot=position.snapshot,
                                   checked_at=computed_at))
    except IntegrityError:  # the program is gone
        logger.info("dashboard figures of program %s not kept: the program no longer exists", program.pk)
        return None
    return ProgramFigures.objects.filter(program_id=program.pk).first()


@dataclass(frozen=True)
class RefreshRequest:
    """What "Refresh now" did: ``queued`` (the worker recomputes the figures) or not
    (recomputed in the request); ``files``: the program's files as last counted."""

    queued: bool
    files: int


def program_figures_refresh_requested(*, program) -> RefreshRequest:
    """"Refresh now": recompute ``program``'s figures in the request while it is small
    (at most ``TAMKEEN_DASHBOARD_INLINE_REFRESH_FILES`` files in its kept figures), so the
    page shows them at once; a larger program's recomputation reads all its files (about
    150 ms at 100,000), so the request only hands it to the worker (the task
    ``reporting.tasks.refresh_program_figures``, which reads only committed data) and
    stays constant whatever the program's size. When the broker cannot take
    the task, the figures are recomputed in the request instead."""
    from django.conf import settings

    kept = ProgramFigures.objects.filter(program_id=program.pk).values_list("figures", flat=True).first()
    counts = snapshot.load(kept) if kept is not None else None
    files = sum(counts["pipeline"].values()) if counts is not None else 0
    if counts is None or files <= settings.TAMKEEN_DASHBOARD_INLINE_REFRESH_FILES:
        program_figures_refresh(program=program)
        return RefreshRequest(queued=False, files=files)
    from reporting.tasks import refresh_program_figures

    try:
        refresh_program_figures.delay(program.pk)
    except Exception:  # the broker is unreachable: do it here rather than not at all
        logger.warning("dashboard refresh of program %s not queued (broker unreachable): recomputed in the request",
                       program.pk, exc_info=True)
        program_figures_refresh(program=program)
        return RefreshRequest(queued=False, files=files)
    return RefreshRequest(queued=True, files=files)


def _upsert(row: ProgramFigures) -> None:
    """INSERT … ON CONFLICT DO UPDATE … WHERE the stored figures are not newer (the
    same statement on PostgreSQL and SQLite)."""
    meta = ProgramFigures._meta
    fields = [meta.get_field(name) for name in _COLUMNS]
    columns = [connection.ops.quote_name(f.column) for f in fields]
    table, key = connection.ops.quote_name(meta.db_table), columns[0]
    values = [f.get_db_prep_save(f.pre_save(row, add=True), connection) for f in fields]
    updates = ", ".join(f"{column} = EXCLUDED.{column}" for column in columns[1:])
    computed = columns[1]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(columns))}) "
            f"ON CONFLICT ({key}) DO UPDATE SET {updates} WHERE {table}.{computed} <= EXCLUDED.{computed}",
            values,
        )


@dataclass
class RefreshRun:
    refreshed: list[str] = field(default_factory=list)  # program codes recomputed
    unchanged: list[str] = field(default_factory=list)  # program codes found current
    all_changed: bool = False  # too many new entries to tell the programs apart


def program_figures_refresh_changed(*, progress=None) -> RefreshRun:
    """The beat's refresh: recompute the figures of every program that has none yet,
    whose files have audit entries its figures may not include (``reporting.changes``),
    or whose figures were computed before today (visits fall due by the day); mark the
    others checked, moving their ledger position forward without reading their rows.
    ``progress(program, index, total, seconds)`` is called after each recomputation."""
    run = RefreshRun()
    now = timezone.now()
    today = timezone.localdate(now)
    # Taken before the entries are read: whatever the read misses is after it.
    position = changes.ledger_position()
    kept = {row.program_id: row for row in ProgramFigures.objects.all()}
    changed = changes.programs_changed(list(kept.values()))
    run.all_changed = changed is None
    programs = list(Program.objects.order_by("code"))
    due = [program for program in programs
           if program.pk not in kept or changed is None or program.pk in changed
           or timezone.localdate(kept[program.pk].computed_at) < today]
    for index, program in enumerate(due, 1):
        started = time.monotonic()
        program_figures_refresh(program=program)
        run.refreshed.append(program.code)
        if progress is not None:
            progress(program, index, len(due), time.monotonic() - started)
    current = [program for program in programs if program not in due]
    run.unchanged = [program.code for program in current]
    if current:
        ProgramFigures.objects.filter(program_id__in=[program.pk for program in current],
                                      ledger_id__lte=position.entry_id).update(
            ledger_id=position.entry_id, ledger_horizon=position.horizon, ledger_snapshot=position.snapshot,
            checked_at=now)
    return run
