"""manage.py refresh_dashboards: recompute the programs' kept dashboard figures."""

import time

from django.core.management.base import BaseCommand, CommandError

from reporting.services import program_figures_refresh, program_figures_refresh_changed
from workflow.models import Program


class Command(BaseCommand):
    help = (
        "Recompute the figures the program dashboards show (pipeline, beneficiaries, follow-up) "
        "and keep them, as the beat task TAMKEEN_DASHBOARD_REFRESH_SECONDS does. By default every "
        "program is recomputed; --program CODE recomputes one; --changed only those whose files have "
        "audit entries their figures may not include, or whose figures date from before today. "
        "The money (envelope, committed, released) is always read live by the page and is not kept. "
        "Safe to run at any time, also while beat refreshes: the newest figures win."
    )

    def add_arguments(self, parser):
        parser.add_argument("--program", metavar="CODE", help="Recompute only this program (its code, e.g. agr-nador-2025).")
        parser.add_argument("--changed", action="store_true",
                            help="Recompute only the programs that changed since their figures were computed "
                                 "(what the beat task does).")

    def handle(self, *args, program=None, changed=False, **options):
        if program and changed:
            raise CommandError("--program and --changed cannot be used together.")
        if changed:
            started = time.monotonic()
            run = program_figures_refresh_changed(progress=self._progress)
            self.stdout.write(self.style.SUCCESS(
                f"{len(run.refreshed)} program(s) recomputed, {len(run.unchanged)} unchanged"
                f"{' (too many new audit entries to tell the programs apart: all recomputed)' if run.all_changed else ''}"
                f" in {time.monotonic() - started:.1f}s."))
            return
        programs = Program.objects.order_by("code")
        if program:
            programs = programs.filter(code=program)
            if not programs.exists():
                known = ", ".join(Program.objects.order_by("code").values_list("code", flat=True)) or "none"
                raise CommandError(f"No program with the code {program!r} (known: {known}).")
        programs = list(programs)
        if not programs:
            self.stdout.write("No program: nothing to compute.")
            return
        started = time.monotonic()
        for index, item in enumerate(programs, 1):
            began = time.monotonic()
            program_figures_refresh(program=item)
            self._progress(item, index, len(programs), time.monotonic() - began)
        self.stdout.write(self.style.SUCCESS(
            f"{len(programs)} program(s) recomputed in {time.monotonic() - started:.1f}s."))

    def _progress(self, program, index, total, seconds):
        self.stdout.write(f"[{index}/{total}] {program.code}: recomputed in {seconds:.2f}s")
        self.stdout.flush()
