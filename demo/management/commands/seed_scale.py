"""``manage.py seed_scale``: a national-scale data set whose ledger verifies.

The demo program is seeded through the services (``seed_demo``), then its files are
cloned in bulk, with their viewflow tasks and signed audit chains, up to ``--files``
files and ``--entries`` ledger entries; the integrator then places every entry and
signs checkpoints. How it is built: ``demo.scale``. Figures: bench/README.md.
"""

import os
import sys
import time
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.test.utils import override_settings

from ledger.models import AuditEntry


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m{seconds % 60:02d}s" if seconds >= 3600 else \
        f"{seconds // 60}m{seconds % 60:02d}s"


class Command(BaseCommand):
    help = (
        "Build a scale data set: the demo program seeded through the services (every lifecycle "
        "state, committee sessions, orders, disbursements, visits), then its files cloned in bulk — "
        "rows, viewflow tasks and signed audit chains — up to --files files and --entries ledger "
        "entries, the extra entries being state-keeping 'assign_agent' entries (a few files get "
        "--long-entries each: long timelines); then the integrator signs checkpoints over all of "
        "them. The ledger verifies ('manage.py audit verify'). Needs the development signing keys "
        "(TAMKEEN_DEV_KEYS=1) or configured keys. Adds to what the database holds: run it again "
        "with larger numbers to grow a data set."
    )

    def add_arguments(self, parser):
        parser.add_argument("--files", type=int, required=True, metavar="N",
                            help="How many files (grant projects) the demo program should hold in the end.")
        parser.add_argument("--entries", type=int, required=True, metavar="M",
                            help="How many ledger entries the database should hold in the end (at least "
                                 "the files' own histories: about 8–9 per file).")
        parser.add_argument("--sample", type=int, default=44, metavar="S",
                            help="Files seeded through the services, the templates of the clones "
                                 "(default 44: every lifecycle state at least twice).")
        parser.add_argument("--long-files", type=int, default=5, metavar="K",
                            help="How many files get a long timeline (default 5).")
        parser.add_argument("--long-entries", type=int, default=2000, metavar="L",
                            help="Entries on each long timeline, at most (default 2000).")
        parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, metavar="W",
                            help="Processes that sign the entries (default: every core).")
        parser.add_argument("--database-url", metavar="URL",
                            help="Build into this database instead of DATABASE_URL's (the command runs "
                                 "again in a child process with DATABASE_URL set to it).")
        parser.add_argument("--fresh", action="store_true",
                            help="Drop and re-create the database first (PostgreSQL), then migrate it. "
                                 "Asks for confirmation unless --noinput is given.")
        parser.add_argument("--noinput", "--no-input", action="store_false", dest="interactive",
                            help="Do not ask before --fresh drops the database.")
        parser.add_argument("--skip-integrate", action="store_true",
                            help="Leave the new entries for the integrator (beat) instead of integrating them.")

    @staticmethod
    def _require_migrated():
        """A clear error instead of a traceback on a database that is not migrated."""
        from django.db.migrations.executor import MigrationExecutor

        executor = MigrationExecutor(connection)
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
        if pending:
            raise CommandError(
                f"The database {connection.settings_dict['NAME']} has {len(pending)} unapplied migration(s): "
                "run 'manage.py migrate' first (or give --fresh to build it anew).")

    def handle(self, *args, **options):
        if options["database_url"]:
            return self._in_child(options)
        if options["files"] < 1 or options["entries"] < 0 or options["sample"] < 1 or options["workers"] < 1:
            raise CommandError("--files, --sample and --workers must be at least 1, --entries at least 0.")
        started = time.monotonic()
        if options["fresh"]:
            self._confirm_fresh(options["interactive"])
            self._fresh()
        self._require_migrated()
        with override_settings(TAMKEEN_INTEGRATOR_STATE_FILE=str(self._memory_file(options["fresh"]))):
            summary = self._build(options)
        total = time.monotonic() - started
        self.stdout.write(self.style.SUCCESS(
            f"seed_scale: {summary['files']:,} files, {summary['entries']:,} ledger entries "
            f"({summary['new_files']:,} files and {summary['new_entries']:,} entries added, "
            f"{summary['integrated']:,} integrated under {summary['checkpoints']:,} checkpoints) "
            f"in {_duration(total)}"))
        for phase, seconds in summary["seconds"].items():
            self.stdout.write(f"  {phase:<12} {seconds:8.1f} s")

    # --- where ---------------------------------------------------------------------------
    def _in_child(self, options):
        import subprocess

        argv = [sys.executable, str(Path(settings.BASE_DIR) / "manage.py"), "seed_scale"]
        for name in ("files", "entries", "sample", "long_files", "long_entries", "workers"):
            argv += [f"--{name.replace('_', '-')}", str(options[name])]
        argv += [flag for flag, on in (("--fresh", options["fresh"]),
                                       ("--skip-integrate", options["skip_integrate"])) if on]
        code = subprocess.call(argv, env={**os.environ, "DATABASE_URL": options["database_url"]})
        if code:
            raise CommandError(f"seed_scale into {options['database_url']} failed (exit {code}).")

    def _memory_file(self, fresh):
        """The integrator's memory of its last checkpoint, one file per database: a data
        set built here does not clash with the other databases of this machine."""
        configured = getattr(settings, "TAMKEEN_INTEGRATOR_STATE_FILE", "")
        if configured:
            return Path(configured)
        name = Path(str(connection.settings_dict["NAME"])).name
        path = Path(settings.TAMKEEN_KEY_DIR) / f"integrator-state-{connection.vendor}-{name}.json"
        if fresh and path.exists():
            path.unlink()
        return path

    def _confirm_fresh(self, interactive):
        """--fresh destroys a database: it is never done without a yes."""
        if connection.vendor != "postgresql":
            raise CommandError("--fresh drops and re-creates a PostgreSQL database; on SQLite remove the file.")
        name = connection.settings_dict["NAME"]
        if not interactive:
            return
        if not sys.stdin.isatty():
            raise CommandError(f"--fresh would drop the database {name} and everything in it: "
                               "give --noinput to confirm when not at a terminal.")
        answer = input(f"--fresh drops the database {name} and everything in it. Type its name to confirm: ")
        if answer.strip() != name:
            raise CommandError("Not confirmed: nothing was dropped.")

    def _fresh(self):
        import psycopg2

        params = connection.get_connection_params()
        name = connection.settings_dict["NAME"]
        connection.close()
        admin = psycopg2.connect(**{**params, "dbname": "postgres"})
        admin.autocommit = True
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            cursor.execute(f'CREATE DATABASE "{name}"')
        admin.close()
        self.stdout.write(f"fresh: database {name} re-created")
        call_command("migrate", verbosity=0)

    # --- what ----------------------------------------------------------------------------
    def _build(self, options):
        from demo import scale

        summary = {"seconds": {}}
        phase = time.monotonic()
        program = scale.demo_program()
        if program is None or scale.templates_of(program).__len__() < options["sample"]:
            self.stdout.write(f"sample: seeding {options['sample']} files through the services (seed_demo)…")
            call_command("seed_demo", projects=options["sample"], quiet=True, stdout=self.stdout)
            program = scale.demo_program()
        templates = scale.templates_of(program)
        summary["seconds"]["sample"] = time.monotonic() - phase
        files_before = program.projects.count()
        entries_before = AuditEntry.objects.count()
        clones = max(0, options["files"] - files_before)
        phase = time.monotonic()
        cloner = scale.Cloner(program, templates, workers=options["workers"], report=self._progress)
        base = cloner.base_entries(clones)
        extra_total = max(0, options["entries"] - entries_before - base)
        states = {pk: state for pk, state, *_rest in templates}
        plan = scale.ExtraPlan(
            eligible_positions={i for i, t in enumerate(templates) if states[t[0]] in scale.KEEPS_AGENT_STATES},
            templates=len(templates), long_files=options["long_files"], long_entries=options["long_entries"],
        )
        plan.spread(clones, extra_total)
        self.stdout.write(
            f"plan: {files_before:,} files and {entries_before:,} entries now; {clones:,} clones of "
            f"{len(templates)} templates ({base:,} entries of history, {extra_total:,} state-keeping: "
            f"{len(plan.long_set)} long timelines of {plan.long_count:,}, {plan.per_file:,}"
            f"{'+1' if plan.remainder else ''} on each other open file); signing on {options['workers']} "
            f"process(es)")
        new_files = new_entries = 0
        if clones:
            new_files, new_entries = cloner.run(clones, plan)
            self._done()
        summary["seconds"]["clone+sign"] = time.monotonic() - phase
        phase = time.monotonic()
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        integrated = checkpoints = 0
        if not options["skip_integrate"]:
            integrated, checkpoints = scale.integrate_all(self._progress)
            self._done()
        summary["seconds"]["integrate"] = time.monotonic() - phase
        summary.update(files=program.projects.count(), entries=AuditEntry.objects.count(), new_files=new_files,
                       new_entries=new_entries, integrated=integrated, checkpoints=checkpoints)
        return summary

    # --- progress --------------------------------------------------------------------------
    _last_print = 0.0

    def _progress(self, what, done, total, started, extra_count=None):
        now = time.monotonic()
        if now - self._last_print < 2 and done < total:
            return
        self._last_print = now
        elapsed = max(now - started, 1e-6)
        rate = done / elapsed
        eta = (total - done) / rate if rate and total > done else 0
        line = f"\r  {what}: {done:,}/{total:,} ({100 * done / max(total, 1):.1f} %), {rate:,.0f}/s"
        if extra_count:
            name, count = extra_count
            line += f"; {name}: {count:,} ({count / elapsed:,.0f}/s)"
        line += f", elapsed {_duration(elapsed)}, ETA {_duration(eta)}   "
        self.stdout.write(line, ending="")
        self.stdout.flush()

    def _done(self):
        self.stdout.write("")
        self._last_print = 0.0
