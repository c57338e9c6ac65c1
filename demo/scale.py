"""The scale data set: many files with realistic histories and a ledger that verifies.

``seed_scale`` (the management command) first seeds the demo program through the
services (``seed_demo``: every lifecycle state, committee sessions, purchase orders,
disbursements, follow-up visits). Those files are the *templates*. The rest are
clones, written in bulk:

- each clone copies one template file's rows with new ids — the beneficiary (a new
  CIN), the project, its follow-up plan, visits and reports, its viewflow process and
  tasks (so the inboxes hold as many open tasks as a real program would) — in the same
  program, with the same people;
- its audit chains (the project's and its visits') are the template's entry documents
  for the new ids, re-hashed, re-chained and signed by the active entry key on every
  core (``demo.scale_chains``); the chains' heads go to ``audit_seq``/``audit_head``;
- the entries beyond those histories are state-keeping ``assign_agent`` entries (the
  agent in charge confirmed again): a few files get thousands of them (long
  timelines), the others share the rest;
- then the integrator places every entry in the Merkle tree and signs checkpoints.

So the live rows match each chain's replay and ``manage.py audit verify`` passes. The
timestamps of the cloned entries are the seeding moment (entries cannot be dated
before their signing key's window, which starts when the demo's key was made).
"""

import io
import math
import multiprocessing
import time
from collections import deque
from dataclasses import dataclass, field

from django.contrib.contenttypes.models import ContentType
from django.db import connection, connections, transaction
from django.utils import timezone

from demo import demo_data, scale_chains
from followup.models import EquipmentRecovery, FollowUpPlan, FollowUpVisit, VisitReport
from ledger.integrator import integrate
from ledger.keys import signer_for
from ledger.models import AuditEntry, entity_type_of
from workflow.models import Beneficiary, GrantProject, Program
from workflow.models.project import ACTIVE_STATES, ProjectState

# A clone's beneficiary has a CIN no real card has: "Z" and its row id on 7 digits.
CLONE_CIN_PREFIX = "Z"
EXTRA_TRANSITION = "assign_agent"
EXTRA_ROLE = "program_officer"
EXTRA_REASON = "Répartition de la charge entre les agents de l'association."
KEEPS_AGENT_STATES = frozenset((*ACTIVE_STATES, ProjectState.SUSPENDED))
ENTRY_COLUMNS = ("entity_type", "entity_id", "seq", "transition", "from_state", "to_state", "actor_id",
                 "actor_role", "request_id", "payload", "created_at", "canonical", "prev_hash", "entry_hash",
                 "key_id", "signature")
CHUNK_FILES = 500


class ScaleError(Exception):
    pass


@dataclass
class Table:
    """One table whose template rows are cloned with every file."""

    name: str
    columns: list
    pk: str
    # column -> table whose cloned id replaces the value
    remaps: dict
    rows_by_project: dict = field(default_factory=dict)  # template project id -> [row tuples]
    next_id: int = 0


@dataclass
class Summary:
    files_before: int = 0
    files_created: int = 0
    entries_before: int = 0
    entries_created: int = 0
    integrated: int = 0
    checkpoints: int = 0
    seconds: dict = field(default_factory=dict)


def _model_table(model, remaps=None):
    meta = model._meta
    return Table(name=meta.db_table, columns=[f.column for f in meta.concrete_fields], pk=meta.pk.column,
                 remaps=remaps or {})


def templates_of(program):
    """The program's files seeded through the services (not clones), by id."""
    return list(
        GrantProject.objects.filter(program=program).exclude(beneficiary__cin__startswith=CLONE_CIN_PREFIX)
        .order_by("pk").values_list("pk", "state", "assigned_agent_id", "created_by_id")
    )


def _load_tables(template_ids):
    """The template rows of every cloned table, grouped by template file."""
    from viewflow.workflow.models import Process, Task

    project_ct = ContentType.objects.get_for_model(GrantProject)
    beneficiaries = _model_table(Beneficiary)
    projects = _model_table(GrantProject, {"beneficiary_id": beneficiaries.name})
    plans = _model_table(FollowUpPlan, {"project_id": projects.name})
    visits = _model_table(FollowUpVisit, {"plan_id": plans.name, "project_id": projects.name})
    reports = _model_table(VisitReport, {"visit_id": visits.name})
    recoveries = _model_table(EquipmentRecovery, {"project_id": projects.name})
    processes = _model_table(Process, {"artifact_object_id": projects.name})
    tasks = _model_table(Task, {"process_id": processes.name, "artifact_object_id": projects.name})
    through = Task.previous.through
    previous = _model_table(through, {"from_task_id": tasks.name, "to_task_id": tasks.name})
    ids = ",".join(str(pk) for pk in template_ids)
    ct = project_ct.pk
    queries = [
        (beneficiaries, f"SELECT p.id, b.* FROM {beneficiaries.name} b JOIN {projects.name} p "
                        f"ON p.beneficiary_id = b.id WHERE p.id IN ({ids})"),
        (projects, f"SELECT t.id, t.* FROM {projects.name} t WHERE t.id IN ({ids})"),
        (plans, f"SELECT t.project_id, t.* FROM {plans.name} t WHERE t.project_id IN ({ids})"),
        (visits, f"SELECT t.project_id, t.* FROM {visits.name} t WHERE t.project_id IN ({ids})"),
        (reports, f"SELECT v.project_id, t.* FROM {reports.name} t JOIN {visits.name} v ON v.id = t.visit_id "
                  f"WHERE v.project_id IN ({ids})"),
        (recoveries, f"SELECT t.project_id, t.* FROM {recoveries.name} t WHERE t.project_id IN ({ids})"),
        (processes, f"SELECT t.artifact_object_id, t.* FROM {processes.name} t "
                    f"WHERE t.artifact_content_type_id = {ct} AND t.artifact_object_id IN ({ids})"),
        (tasks, f"SELECT p.artifact_object_id, t.* FROM {tasks.name} t JOIN {processes.name} p "
                f"ON p.id = t.process_id WHERE p.artifact_content_type_id = {ct} AND p.artifact_object_id IN ({ids})"),
        (previous, f"SELECT p.artifact_object_id, t.* FROM {previous.name} t JOIN {tasks.name} k "
                   f"ON k.id = t.from_task_id JOIN {processes.name} p ON p.id = k.process_id "
                   f"WHERE p.artifact_content_type_id = {ct} AND p.artifact_object_id IN ({ids})"),
    ]
    tables = []
    with connection.cursor() as cursor:
        for table, sql in queries:
            # SELECT t.* gives the table's columns in their order: name them from the cursor.
            cursor.execute(sql + " ORDER BY 2")
            table.columns = [column[0] for column in cursor.description[1:]]
            for project_id, *row in cursor.fetchall():
                table.rows_by_project.setdefault(project_id, []).append(tuple(row))
            cursor.execute(f"SELECT COALESCE(MAX({table.pk}), 0) FROM {table.name}")
            table.next_id = cursor.fetchone()[0] + 1
            tables.append(table)
    # Artifact ids point at projects only where the content type is the project's.
    for table in (processes, tasks):
        table.artifact_ct = ct
    # A plan's pointer to its latest report (one-to-one) would name the template's report:
    # the clones start without it, and ``refill_latest_reports`` sets it once their
    # reports exist (``Cloner.run``).
    blank = {"latest_report_id": None, "latest_at_risk": False, "latest_visited_on": None}
    where = {plans.columns.index(column): value for column, value in blank.items() if column in plans.columns}
    for project_id, rows in plans.rows_by_project.items():
        plans.rows_by_project[project_id] = [
            tuple(where.get(i, value) for i, value in enumerate(row)) for row in rows
        ]
    return tables


def _template_chains(entity_type, ids):
    """{(entity type, id): [entry document, ...]} of the template rows' chains."""
    import json

    chains = {}
    rows = (AuditEntry.objects.filter(entity_type=entity_type, entity_id__in=[str(i) for i in ids])
            .order_by("entity_id", "seq").values_list("entity_id", "canonical"))
    for entity_id, canonical in rows.iterator(chunk_size=5000):
        chains.setdefault((entity_type, entity_id), []).append(json.loads(bytes(canonical)))
    return chains


@dataclass
class ExtraPlan:
    """How many state-keeping entries each clone gets (clone index → count)."""

    eligible_positions: list  # template positions whose state keeps an agent
    templates: int
    long_files: int
    long_entries: int
    per_file: int = 0
    remainder: int = 0
    long_count: int = 0

    def spread(self, clones: int, extra_total: int):
        eligible = [c for c in range(min(clones, self.long_files * self.templates + self.templates))
                    if c % self.templates in self.eligible_positions]
        self.long_set = set(eligible[:self.long_files]) if extra_total > 0 else set()
        self.long_count = min(extra_total // max(1, len(self.long_set)), self.long_entries) if self.long_set else 0
        rest = extra_total - self.long_count * len(self.long_set)
        share = sum(1 for c in range(clones) if c % self.templates in self.eligible_positions) - len(self.long_set)
        if share > 0:
            self.per_file, self.remainder = divmod(rest, share)
        elif rest > 0 and self.long_set:  # no other file: the long ones take it all
            self.long_count += math.ceil(rest / len(self.long_set))

    def extra_for(self, clone: int, rank: int) -> int:
        if clone in self.long_set:
            return self.long_count
        return self.per_file + (1 if rank < self.remainder else 0)


def _copy_value(value):
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, (bytes, memoryview)):
        return "\\\\x" + bytes(value).hex()
    if hasattr(value, "isoformat"):
        value = value.isoformat()
    return str(value).replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def _write(cursor, table, columns, rows):
    if not rows:
        return
    if connection.vendor == "postgresql":
        if rows and isinstance(rows[0], str):
            text = "\n".join(rows) + "\n"
        else:
            text = "".join("\t".join(_copy_value(v) for v in row) + "\n" for row in rows)
        cursor.copy_expert(f"COPY {table} ({', '.join(columns)}) FROM STDIN", io.StringIO(text))
    else:
        marks = ", ".join(["%s"] * len(columns))
        cursor.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)


def _reset_sequences(cursor, tables):
    if connection.vendor != "postgresql":
        return
    for name, pk in tables:
        cursor.execute(f"SELECT setval(pg_get_serial_sequence('{name}', '{pk}'), "
                       f"(SELECT COALESCE(MAX({pk}), 1) FROM {name}))")


class Cloner:
    """Clones the template files ``clones`` times over, in chunks, signing on ``workers`` cores."""

    def __init__(self, program, templates, *, workers, report):
        self.program, self.templates, self.workers, self.report = program, templates, workers, report
        self.template_ids = [t[0] for t in templates]
        self.tables = _load_tables(self.template_ids)
        self.by_name = {t.name: t for t in self.tables}
        self.project_type = entity_type_of(GrantProject)
        self.visit_type = entity_type_of(FollowUpVisit)
        self.chains = {**_template_chains(self.project_type, self.template_ids),
                       **_template_chains(self.visit_type, self._template_visit_ids())}
        missing = [pk for pk in self.template_ids if (self.project_type, str(pk)) not in self.chains]
        if missing:
            raise ScaleError(f"template files without an audit chain: {missing[:10]}")
        from django.contrib.auth.models import Group
        officer = Group.objects.get(name=EXTRA_ROLE).user_set.order_by("pk").first()
        self.officer_id = officer.pk if officer else None
        projects = self.by_name[GrantProject._meta.db_table]
        self.project_columns = projects.columns
        self.beneficiary_names = self._names()

    def _template_visit_ids(self):
        visits = self.by_name[FollowUpVisit._meta.db_table]
        return [row[0] for rows in visits.rows_by_project.values() for row in rows]

    def _names(self):
        table = self.by_name[Beneficiary._meta.db_table]
        rows = [rows[0] for rows in table.rows_by_project.values()]
        index = {c: i for i, c in enumerate(table.columns)}
        return [(row[index["first_name"]], row[index["first_name_ar"]], row[index["last_name"]],
                 row[index["last_name_ar"]]) for row in rows]

    def base_entries_per_round(self):
        return sum(len(chain) for chain in self.chains.values())

    def base_entries(self, clones):
        per_template = {pk: len(self.chains[(self.project_type, str(pk))]) for pk in self.template_ids}
        visits = self.by_name[FollowUpVisit._meta.db_table]
        for pk, rows in visits.rows_by_project.items():
            per_template[pk] += sum(len(self.chains.get((self.visit_type, str(row[0])), ())) for row in rows)
        n = len(self.template_ids)
        return sum(per_template[self.template_ids[c % n]] for c in range(clones))

    def run(self, clones, extra: ExtraPlan):
        key_moment = timezone.now()
        window, private_key = signer_for("entry", key_moment)
        from cryptography.hazmat.primitives import serialization

        private_bytes = private_key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                                  serialization.NoEncryption())
        scale_chains.set_context(templates=self.chains, key_id=window.key_id, private_bytes=private_bytes,
                                 start=key_moment, postgres=connection.vendor == "postgresql")
        self.extra, self.rank = extra, 0
        pending = deque()
        chunks = range(0, clones, CHUNK_FILES)
        entries = files = 0
        started = time.monotonic()

        def jobs():
            for first in chunks:
                rows, job = self._chunk(first, min(first + CHUNK_FILES, clones))
                pending.append(rows)
                yield job

        if self.workers > 1:
            connections.close_all()  # the forked workers must not share the parent's connection
            pool = multiprocessing.get_context("fork").Pool(self.workers)
            results = pool.imap(scale_chains.sign_chains, jobs())
        else:
            pool = None
            results = map(scale_chains.sign_chains, jobs())
        try:
            for entry_rows, heads in results:
                rows = pending.popleft()
                self._write_chunk(rows, entry_rows, heads)
                entries += len(entry_rows)
                files += len(rows["files"])
                self.report("files", files, clones, started, extra_count=("entries", entries))
        finally:
            if pool is not None:
                pool.close()
                pool.join()
        with connection.cursor() as cursor:
            _reset_sequences(cursor, [(t.name, t.pk) for t in self.tables])
        # The clones' plans point at their own latest reports (as visit_report keeps them).
        FollowUpPlan.refill_latest_reports(
            FollowUpPlan.objects.filter(project__beneficiary__cin__startswith=CLONE_CIN_PREFIX))
        return files, entries

    def _chunk(self, first, last):
        """The domain rows and the signing job of clones ``first``..``last - 1``."""
        n = len(self.template_ids)
        out = {t.name: [] for t in self.tables}
        out["files"] = []
        job = []
        heads_at = {}  # entity (type, new id) -> (table name, row index in out)
        for clone in range(first, last):
            position = clone % n
            template_id, state, assigned, created_by = self.templates[position]
            mapping = {}
            for table in self.tables:
                for row in table.rows_by_project.get(template_id, ()):
                    new_id = table.next_id
                    table.next_id += 1
                    mapping[(table.name, row[0])] = new_id
                    values = list(row)
                    values[0] = new_id
                    for column, target in table.remaps.items():
                        i = table.columns.index(column)
                        if column == "artifact_object_id":
                            ct_column = table.columns.index("artifact_content_type_id")
                            if values[ct_column] != table.artifact_ct:
                                continue
                        if values[i] is not None:
                            values[i] = mapping.get((target, values[i]), values[i])
                    self._customise(table, values, clone)
                    out[table.name].append(values)
                    if table.name == GrantProject._meta.db_table:
                        out["files"].append(new_id)
                        heads_at[(self.project_type, str(new_id))] = (table.name, len(out[table.name]) - 1)
                    elif table.name == FollowUpVisit._meta.db_table:
                        heads_at[(self.visit_type, str(new_id))] = (table.name, len(out[table.name]) - 1)
            new_project = mapping[(GrantProject._meta.db_table, template_id)]
            extra = None
            if position in self.extra.eligible_positions:
                count = self.extra.extra_for(clone, self.rank)
                self.rank += 0 if clone in self.extra.long_set else 1
                if count:
                    agent = assigned or created_by
                    extra = (count, EXTRA_TRANSITION, EXTRA_ROLE, self.officer_id,
                             {"agent": agent, "previous": agent, "reason": EXTRA_REASON})
                    row = out[GrantProject._meta.db_table][-1]
                    row[self.project_columns.index("assigned_agent_id")] = agent
            job.append(((self.project_type, str(template_id)), str(new_project), None, extra))
            for row in self.by_name[FollowUpVisit._meta.db_table].rows_by_project.get(template_id, ()):
                new_visit = mapping[(FollowUpVisit._meta.db_table, row[0])]
                job.append(((self.visit_type, str(row[0])), str(new_visit), {"project": new_project}, None))
        out["heads_at"] = heads_at
        return out, job

    def _customise(self, table, values, clone):
        if table.name != Beneficiary._meta.db_table:
            return
        columns = table.columns
        values[columns.index("cin")] = f"{CLONE_CIN_PREFIX}{values[0] % 10_000_000:07d}"
        names = self.beneficiary_names
        first, first_ar, _l, _la = names[(clone * 7 + 3) % len(names)]
        _f, _fa, last, last_ar = names[(clone * 11 + 5) % len(names)]
        for column, value in (("first_name", first), ("first_name_ar", first_ar), ("last_name", last),
                              ("last_name_ar", last_ar)):
            values[columns.index(column)] = value

    def _write_chunk(self, rows, entry_rows, heads):
        heads_at = rows["heads_at"]
        for entity_type, entity_id, seq, head in heads:
            name, index = heads_at[(entity_type, entity_id)]
            row = rows[name][index]
            columns = self.by_name[name].columns
            row[columns.index("audit_seq")] = seq
            row[columns.index("audit_head")] = head
        with transaction.atomic(), connection.cursor() as cursor:
            for table in self.tables:
                _write(cursor, table.name, table.columns, rows[table.name])
            if connection.vendor == "postgresql":
                _write(cursor, AuditEntry._meta.db_table, ENTRY_COLUMNS, entry_rows)
            else:
                adapt = connection.ops.adapt_datetimefield_value
                _write(cursor, AuditEntry._meta.db_table, ENTRY_COLUMNS,
                       [row[:10] + (adapt(row[10]),) + row[11:] for row in entry_rows])


def integrate_all(report):
    """Run the integrator until it has nothing left; returns (entries integrated, checkpoints)."""
    done = checkpoints = 0
    started = time.monotonic()
    total = AuditEntry.objects.filter(leaf__isnull=True).count()
    while True:
        result = integrate(force_checkpoint=True)
        if result.refused:
            raise ScaleError(f"the integrator refused to sign: {result.refused}")
        if result.skipped_locked:
            time.sleep(0.5)
            continue
        done += result.integrated
        checkpoints += 1 if result.checkpoint else 0
        report("integrated", done, total, started)
        if result.integrated == 0:
            return done, checkpoints


def demo_program():
    return Program.objects.filter(code=demo_data.PROGRAM["code"]).first()
