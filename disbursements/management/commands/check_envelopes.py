"""manage.py check_envelopes: compare each program's kept envelope totals with its events."""

from django.core.management.base import BaseCommand, CommandError

from disbursements.selectors import envelope_balance_checks


class Command(BaseCommand):
    help = (
        "Recompute every program's envelope totals (committed, released, number of events) from its "
        "envelope events and compare them with the running totals the events kept as they were "
        "written, which the dashboards and the money checks of approvals and releases read. Prints "
        "one line per program; exits with an error naming the programs whose kept totals differ, or "
        "whose events commit more than the program's envelope. Reads only."
    )

    def add_arguments(self, parser):
        parser.add_argument("--quiet", action="store_true", help="Print only the programs with a problem and the summary.")

    def handle(self, *args, quiet=False, **options):
        differ, over, count = [], [], 0
        for check in envelope_balance_checks():
            count += 1
            (kc, kr, kn), (sc, sr, sn) = check.kept, check.summed
            if check.over_envelope:
                over.append(check.program_code)
                self.stdout.write(self.style.ERROR(
                    f"{check.program_code}: its events commit {sc:,.2f} MAD, more than its envelope of "
                    f"{check.envelope:,.2f} MAD"))
            if check.matches:
                if not quiet and not check.over_envelope:
                    self.stdout.write(f"{check.program_code}: committed {sc:,.2f} MAD, released {sr:,.2f} MAD, "
                                      f"{sn} event(s): kept totals match")
                continue
            differ.append(check.program_code)
            self.stdout.write(self.style.ERROR(
                f"{check.program_code}: kept committed {kc:,.2f} / released {kr:,.2f} / {kn} event(s), "
                f"but its events sum to committed {sc:,.2f} / released {sr:,.2f} / {sn} event(s)"))
        failures = []
        if differ:
            failures.append(f"{len(differ)} of {count} program(s) have kept totals that differ from their "
                            f"events: {', '.join(differ)}.")
        if over:
            failures.append(f"{len(over)} of {count} program(s) commit more than their envelope: {', '.join(over)}.")
        if failures:
            raise CommandError(" ".join(failures))
        self.stdout.write(self.style.SUCCESS(f"{count} program(s): every kept envelope total matches its events."))
