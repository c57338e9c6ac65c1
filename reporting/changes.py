"""Which programs' kept figures may be out of date: read from the audit ledger.

Every change the dashboard counts comes with an audit entry in the same transaction: a
file's creation and transitions (its state, outcome, follow-up plan, closing recovery,
the envelope events of an approval), a visit's report or cancellation (and the plan's
latest report with it), a disbursement's or an order's transitions, a program's
settings. Beneficiaries are never edited after they are registered. So kept figures
are current while no entry of one of the program's files (or of the program) is missing
from them, and the test only reads the entries written since — a few hundred every
few minutes, not the program's rows.

"Since" is exact although entry ids commit out of order: on PostgreSQL the kept figures
record the oldest transaction still running when they were read
(``pg_snapshot_xmin``); an entry of that transaction or a later one may be missing,
every older one is in them (the integrator's rule, ``ledger.integrator``). SQLite has
one writer at a time, so ids commit in order there and the newest id is enough.
"""

from collections import defaultdict
from dataclasses import dataclass

from django.db import connection
from django.db.models import Q

from ledger.machines import audited_models
from ledger.models import AuditEntry
from workflow.models import Program

# Past this many new entries the programs are not told apart: all are recomputed.
MAX_ENTRIES = 20000


@dataclass(frozen=True)
class LedgerPosition:
    entry_id: int  # the newest entry visible
    horizon: int | None  # PostgreSQL: the oldest transaction still running
    snapshot: str = ""  # PostgreSQL: the snapshot, "xmin:xmax:xip,…"


def ledger_position() -> LedgerPosition:
    """Where the ledger stands for the current snapshot (the transaction's, under
    ``core.transactions.consistent_read``): two index reads."""
    horizon, snapshot = None, ""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_current_snapshot()::text")
            snapshot = cursor.fetchone()[0]
        horizon = int(snapshot.split(":")[0])
    newest = AuditEntry.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    return LedgerPosition(entry_id=newest, horizon=horizon, snapshot=snapshot)


def _visible(xact_id: int, snapshot: str) -> bool:
    """Whether transaction ``xact_id`` had committed for ``snapshot`` ("xmin:xmax:xip,…",
    PostgreSQL's text form): below xmin, or below xmax and not in progress then."""
    xmin, xmax, running = snapshot.split(":")
    if xact_id < int(xmin):
        return True
    return xact_id < int(xmax) and str(xact_id) not in running.split(",")


def _program_paths() -> dict:
    """{entity type: (model, lookup of its program id)} for the audited models that
    belong to one program: the program itself, and the rows of one program or of one
    of its files. Others (accounts, second factors) change no figure."""
    paths = {}
    for entity_type, model, _spec in audited_models():
        names = {field.name for field in model._meta.fields}
        if model is Program:
            paths[entity_type] = (model, "pk")
        elif "program" in names:
            paths[entity_type] = (model, "program_id")
        elif "project" in names:
            paths[entity_type] = (model, "project__program_id")
    return paths


def _is_newer(entry_id, xact_id, kept) -> bool:
    if entry_id > kept.ledger_id:
        return True
    if kept.ledger_horizon is None or xact_id is None or xact_id < kept.ledger_horizon:
        return False
    # At or after the horizon: in the figures only if it had committed when they were read
    # (another database's long transaction on the same server holds the horizon back).
    return not kept.ledger_snapshot or not _visible(xact_id, kept.ledger_snapshot)


def programs_changed(kept: list) -> set[int] | None:
    """The ids of the programs of ``kept`` (``ProgramFigures`` rows) that have an audit
    entry their figures may not include; None when more than ``MAX_ENTRIES`` entries
    are that new (then every program is taken as changed). One range read of the
    ledger's newest entries, then one query per kind of entity among them."""
    if not kept:
        return set()
    newer = Q(pk__gt=min(row.ledger_id for row in kept))
    horizons = [row.ledger_horizon for row in kept if row.ledger_horizon is not None]
    if horizons:
        newer |= Q(xact_id__gte=min(horizons))
    entries = list(AuditEntry.objects.filter(newer).order_by()
                   .values_list("pk", "xact_id", "entity_type", "entity_id")[:MAX_ENTRIES + 1])
    if len(entries) > MAX_ENTRIES:
        return None
    ids_by_type = defaultdict(set)
    for _pk, _xact, entity_type, entity_id in entries:
        ids_by_type[entity_type].add(entity_id)
    paths = _program_paths()
    program_of = {}
    for entity_type, ids in ids_by_type.items():
        if entity_type not in paths:
            continue
        model, lookup = paths[entity_type]
        valid = [entity_id for entity_id in ids if entity_id.isdigit()]
        for pk, program_id in model._default_manager.filter(pk__in=valid).order_by().values_list("pk", lookup):
            program_of[(entity_type, str(pk))] = program_id
    kept_by_program = {row.program_id: row for row in kept}
    changed = set()
    for pk, xact_id, entity_type, entity_id in entries:
        row = kept_by_program.get(program_of.get((entity_type, entity_id)))
        if row is not None and _is_newer(pk, xact_id, row):
            changed.add(row.program_id)
    return changed
