"""``manage.py seed_demo``: the Nador 2025 demo program, one login per role, and
projects in every lifecycle state, each with a real audit history.

Every project is created and moved through the services (``workflow.scenarios.drive``),
never by writing ``state``. The run is deterministic and idempotent: project number
``i`` always gets the same beneficiary (keyed by CIN) and the same target state, and a
beneficiary who already has a file in the program is left as it is.
"""

import time
import uuid
from collections import Counter
from datetime import date

from django.apps import apps as django_apps
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from workflow import demo_data, services
from workflow.audit.context import request_context
from workflow.exceptions import TamkeenError
from workflow.models import ActivitySector, Beneficiary, Commune, Program
from workflow.models.project import ProjectState
from workflow.roles import sync_roles
from workflow.scenarios import Cast, drive

User = get_user_model()


class Command(BaseCommand):
    help = (
        "Seed the demo: the 'Programme AGR Nador 2025', one login per role (username = role "
        "name, one shared demo password) and --projects files spread over every lifecycle state, "
        "each moved there through the services so it has a real audit history. Safe to run "
        "again: what exists is kept, nothing is duplicated."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--projects", type=int, default=44, metavar="N",
            help="How many projects the program should hold (default 44; 32 or more gives "
                 "at least two per state).",
        )
        parser.add_argument(
            "--quiet", action="store_true",
            help="Print only a one-line result, no progress, summary or logins.",
        )

    def handle(self, *args, projects, quiet, verbosity, **options):
        if projects < 1:
            raise CommandError("--projects must be at least 1.")
        self.quiet = quiet or verbosity == 0
        started = time.monotonic()
        with request_context(f"seed-demo-{uuid.uuid4().hex[:12]}"):
            sync_roles(django_apps)
            users, new_users = self._ensure_users()
            program = self._ensure_program()
            cast = Cast(
                agent=users["association_agent"], officer=users["program_officer"],
                screener=users["program_officer2"], chair=users["committee_chair"],
                finance=users["finance_officer"], mentor=users["mentor"],
            )
            outcome = self._seed_projects(program, cast, projects)
            self._seed_committee(program, users)
        elapsed = time.monotonic() - started
        if self.quiet:
            self.stdout.write(
                f"seed_demo: {program.projects.count()} projects in {program.code} "
                f"({outcome['created']} new) in {elapsed:.1f}s"
            )
            return
        self._print_summary(program, outcome, new_users, elapsed)

    # --- users and program -----------------------------------------------------------
    def _ensure_users(self):
        """One user per demo login; existing users keep their password and extra roles."""
        users, new_users = {}, set()
        for demo in demo_data.DEMO_USERS:
            with transaction.atomic():
                user, created = User.objects.get_or_create(
                    username=demo.username,
                    defaults={
                        "first_name": demo.first_name, "last_name": demo.last_name,
                        "email": f"{demo.username}@demo.tamkeen.example", "is_staff": demo.is_staff,
                    },
                )
                if created:
                    user.set_password(demo_data.DEMO_PASSWORD)
                    user.save(update_fields=["password"])
                    new_users.add(demo.username)
                user.groups.add(*Group.objects.filter(name__in=[r.value for r in demo.roles]))
            # Fresh instance: no stale permission cache from before the groups were set.
            users[demo.username] = User.objects.get(pk=user.pk)
        return users, new_users

    def _ensure_program(self):
        fields = dict(demo_data.PROGRAM)
        code = fields.pop("code")
        program = Program.objects.filter(code=code).first()
        if program is None:
            program = Program(code=code, **fields)
            program.full_clean()
            program.save()
            self._progress(f"program: created {program}")
        else:
            self._progress(f"program: {program} exists, kept as it is")
        return program

    # --- committee ---------------------------------------------------------------------
    def _seed_committee(self, program, users):
        """The program's committee (the demo chair and member) with its scoring criteria and
        a planned session whose agenda the program officer builds from the eligible files."""
        from datetime import timedelta

        from django.utils import timezone

        from approvals import services as committee_services
        from approvals.models import Committee, CommitteeSession

        officer = users["program_officer"]
        committee = Committee.objects.filter(program=program).first()
        if committee is None:
            committee = committee_services.committee_create(
                actor=officer, program=program, name=demo_data.COMMITTEE_NAME,
                members=[(users["committee_chair"], "chair"), (users["committee_member"], "member")],
            )
            self._progress(f"committee: created {committee}")
        committee_services.criteria_ensure_defaults(program)
        if not CommitteeSession.objects.filter(committee=committee, title=demo_data.SESSION_TITLE).exists():
            committee_services.session_create(
                actor=officer, committee=committee, title=demo_data.SESSION_TITLE,
                scheduled_for=timezone.now() + timedelta(days=7), location=demo_data.SESSION_PLACE,
            )
            self._progress(f"committee session: planned {demo_data.SESSION_TITLE!r}")

    # --- projects ----------------------------------------------------------------------
    def _seed_projects(self, program, cast, total):
        communes = {c.code: c for c in Commune.objects.filter(province=program.province, active=True)}
        if not communes:
            raise CommandError(f"No active commune in the province of {program.province}: run migrate.")
        sectors = {s.code: s for s in ActivitySector.objects.all()}
        commune_codes = sorted(communes)
        today = date.today()
        outcome = {"created": 0, "kept": 0, "held_back": 0}
        for index in range(total):
            plan = demo_data.plan_project(index, commune_codes, today)
            beneficiary = Beneficiary.objects.filter(cin=plan.beneficiary["cin"]).first()
            existing = beneficiary and beneficiary.projects.filter(program=program).first()
            if existing:
                outcome["kept"] += 1
                self._progress(f"projects: {index + 1}/{total}  {existing.reference}  exists ({existing.state})")
                continue
            try:
                project, target = self._create_and_drive(plan, program, cast, beneficiary, communes, sectors)
            except TamkeenError as exc:
                raise CommandError(
                    f"project {index + 1} ({plan.title}, CIN {plan.beneficiary['cin']}): "
                    f"{exc.code}: {exc.message} {exc.field_errors or ''}".rstrip()
                ) from exc
            outcome["created"] += 1
            if target != plan.state:
                outcome["held_back"] += 1
            self._progress(
                f"projects: {index + 1}/{total}  {project.reference}  {project.beneficiary} "
                f"({project.beneficiary.commune.name_fr}) → {project.state}"
            )
        return outcome

    def _create_and_drive(self, plan, program, cast, beneficiary, communes, sectors):
        if beneficiary is None:
            fields = dict(plan.beneficiary, commune=communes.get(plan.beneficiary["commune"]))
            beneficiary = services.beneficiary_create(actor=cast.agent, **fields)
        sector = sectors.get(plan.sector)
        if sector is None:
            raise CommandError(f"Unknown activity sector {plan.sector!r}: run migrate.")
        project = services.project_create(
            actor=cast.agent, program=program, beneficiary=beneficiary, title=plan.title,
            sector=sector, description=plan.description,
            requested_amount=plan.requested_amount, own_contribution=plan.own_contribution,
        )
        target = plan.state
        # With a large --projects the envelope runs out: such files wait in committee
        # instead of being approved beyond the budget.
        if plan.is_committed and program.free_balance() < plan.approved_amount:
            target = ProjectState.IN_COMMITTEE
        return drive(project, target, cast, amount=plan.approved_amount), target

    # --- output ----------------------------------------------------------------------
    def _progress(self, line):
        if not self.quiet:
            self.stdout.write(line)
            self.stdout.flush()

    def _print_summary(self, program, outcome, new_users, elapsed):
        out, style = self.stdout, self.style
        counts = Counter(program.projects.values_list("state", flat=True))
        total = sum(counts.values())
        out.write("")
        out.write(style.MIGRATE_HEADING(f"{program} — {total} projects"))
        width = max(len(str(s.label)) for s in ProjectState)
        for state in demo_data.STATE_ORDER:
            out.write(f"  {str(state.label):<{width}}  {counts.get(state, 0):>4}")
        committed = program.committed_amount()
        out.write(
            f"  committed {committed:,.2f} MAD of an envelope of {program.envelope:,.2f} MAD "
            f"(free {program.envelope - committed:,.2f})"
        )
        out.write(
            f"  this run: {outcome['created']} created, {outcome['kept']} already there"
            + (f", {outcome['held_back']} held in committee (envelope full)" if outcome["held_back"] else "")
            + f", {elapsed:.1f}s"
        )
        out.write("")
        out.write(style.MIGRATE_HEADING("Demo logins"))
        out.write("  Run `manage.py runserver` and open http://127.0.0.1:8000/ "
                  "(Django admin at http://127.0.0.1:8000/admin/ for the admin login).")
        rows = [("username", "roles", "name")]
        for demo in demo_data.DEMO_USERS:
            rows.append((demo.username, ", ".join(r.value for r in demo.roles),
                         f"{demo.first_name} {demo.last_name}"))
        widths = [max(len(row[i]) for row in rows) for i in range(3)]
        for n, row in enumerate(rows):
            out.write("  " + "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())
            if n == 0:
                out.write("  " + "  ".join("-" * w for w in widths))
        kept = len(demo_data.DEMO_USERS) - len(new_users)
        note = f" ({kept} login(s) existed already and kept their own password)" if kept else ""
        out.write(style.WARNING(
            f"  Password of every demo login: {demo_data.DEMO_PASSWORD}{note}. "
            "For a demo database only, never in production."
        ))
