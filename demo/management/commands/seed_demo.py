"""``manage.py seed_demo``: the Nador 2025 demo program, one login per role, and
projects in every lifecycle state, each with a real audit history.

Every project is created and moved through the services (``demo.scenarios.drive``),
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
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from access.services import operator_set_roles
from core.exceptions import TamkeenError
from core.request_id import request_context
from core.roles import Role, sync_roles
from demo import demo_data, program_setup
from demo.money import PAID_STATES, Treasury, pay_equipment, stage_funding
from demo.scenarios import PATHS, Cast, drive
from demo.summary import money_lines, overdue_lines, work_lines
from disbursements.selectors import committed_amount, free_balance
from followup import services as followup_services
from workflow import services
from workflow.models import ActivitySector, Beneficiary, Commune, Program
from workflow.models.project import ProjectState
from workflow.services import program_create

User = get_user_model()

# Files whose path goes through the committee's examination.
PAST_THE_COMMITTEE = frozenset(state for state, path in PATHS.items() if "schedule" in path)
DECIDED_SESSION_TITLE = "Séance de sélection n° %(n)d"
DECISION_REASONS = {
    "revise": "Préciser la liste des équipements et joindre un second devis.",
    "reject": "Étude de marché insuffisante : la demande locale n'est pas démontrée.",
}
FOLLOWUP_STOPPED = "Activité arrêtée : le local a fermé et la clientèle n'a pas suivi."
FOLLOWUP_ABANDONED = "La bénéficiaire a quitté la province avant la fin de l'accompagnement."
FOLLOWUP_RECOVERED = "Machine à coudre industrielle et surjeteuse, remises à l'association."


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
            "--url", default="http://127.0.0.1:8000/", metavar="URL",
            help="Where the app will be served, for the closing hint (default http://127.0.0.1:8000/).",
        )
        parser.add_argument(
            "--quiet", action="store_true",
            help="Print only a one-line result, no progress, summary or logins.",
        )

    def handle(self, *args, projects, quiet, verbosity, url="http://127.0.0.1:8000/", **options):
        self.url = url if url.endswith("/") else url + "/"
        if projects < 1:
            raise CommandError("--projects must be at least 1.")
        self.quiet = quiet or verbosity == 0
        started = time.monotonic()
        with request_context(f"seed-demo-{uuid.uuid4().hex[:12]}"):
            sync_roles(django_apps)
            users, new_users = self._ensure_users()
            program = self._ensure_program(users["program_officer"])
            cast = Cast(
                agent=users["association_agent"], officer=users["program_officer"],
                screener=users["program_officer2"], chair=users["committee_chair"],
                finance=users["finance_officer"], mentor=users["mentor"],
                members=[users["committee_member"]], committee_name=demo_data.COMMITTEE_NAME,
            )
            self.treasury = Treasury(finance=users["finance_officer"], authorizer=users["authorizing_officer"],
                                     treasurer=users["treasurer"], password=demo_data.DEMO_PASSWORD)
            self._seed_committee(program, users)
            outcome = self._seed_projects(program, cast, projects)
            self._seed_followup(program, cast)
            self._seed_money(program, cast)
            program_setup.ensure_deadlines(program, users["program_officer"], self._progress)
            program_setup.ensure_role_request(users, self._progress)
            program_setup.ensure_training_session(program, users, self._progress)
        elapsed = time.monotonic() - started
        if self.quiet:
            self.stdout.write(
                f"seed_demo: {program.projects.count()} projects in {program.code} "
                f"({outcome['created']} new) in {elapsed:.1f}s"
            )
            return
        self._print_summary(program, outcome, new_users, elapsed, users)

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
                held = set(user.groups.filter(name__in=Role.values).values_list("name", flat=True))
                wanted = [r for r in Role if r in demo.roles or r.value in held]
                # Given as the operator gives them (signed on the person's chain).
                operator_set_roles(user, wanted, superuser=user.is_superuser, reason="demo data")
            # Fresh instance: no stale permission cache from before the groups were set.
            users[demo.username] = User.objects.get(pk=user.pk)
        return users, new_users

    def _ensure_program(self, officer):
        """The demo program, set up by the program officer as on the programs' screens
        (``program_create``: its settings signed on its own chain)."""
        fields = dict(demo_data.PROGRAM)
        code = fields.pop("code")
        program = Program.objects.filter(code=code).first()
        if program is None:
            program = program_create(actor=officer, code=code, **fields)
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
        before_the_committee = []  # (index, project, plan): eligible, to be examined together
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
            if target in PAST_THE_COMMITTEE:
                before_the_committee.append((index, project, plan))
            self._progress(
                f"projects: {index + 1}/{total}  {project.reference}  {project.beneficiary} "
                f"({project.beneficiary.commune.name_fr}) → {project.state}"
                + (f" (for the committee, then {target})" if target in PAST_THE_COMMITTEE else "")
            )
        self._examine_in_committee(program, cast, before_the_committee, outcome, total)
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
        if target in PAST_THE_COMMITTEE:  # the committee examines these files together, later
            return drive(project, ProjectState.ELIGIBLE, cast), target
        return self._drive_on(project, target, program, cast, plan), target

    def _drive_on(self, project, target, program, cast, plan):
        """Drive on to ``target``; files past funding get their orders and tranches on the
        way (money is released only while a file is in funding, equipped or launched)."""
        if target == ProjectState.FUNDING:
            project = drive(project, target, cast, amount=plan.approved_amount)
            stage_funding(project, cast, self.treasury, self._funding_turn(program))
            return project.__class__.objects.get(pk=project.pk)
        if target in PAID_STATES:
            project = drive(project, ProjectState.EQUIPPED, cast, amount=plan.approved_amount)
            pay_equipment(project, cast, self.treasury)
        if target == ProjectState.CLOSED:
            return self._drive_closed(project, program, cast, plan.approved_amount)
        return drive(project, target, cast, amount=plan.approved_amount)

    @staticmethod
    def _funding_turn(program):
        """How the next file in funding is staged: in turn, by the files already staged."""
        from disbursements.models import PurchaseOrder

        staged = (PurchaseOrder.objects.filter(project__program=program, project__state=ProjectState.FUNDING)
                  .values("project").distinct().count())
        return staged % 3

    def _seed_money(self, program, cast):
        """Files that reached funding before the demo had money (an older demo database):
        what can still be paid is (a closed file cannot be). Files staged already are left."""
        from disbursements.models import PurchaseOrder

        for project in program.projects.filter(state=ProjectState.FUNDING).order_by("pk"):
            if not PurchaseOrder.objects.filter(project=project).exists():
                stage_funding(project, cast, self.treasury, self._funding_turn(program))
                self._progress(f"money: {project.reference} orders and tranches staged")
        for project in program.projects.filter(state__in=(ProjectState.EQUIPPED, ProjectState.LAUNCHED)).order_by("pk"):
            if pay_equipment(project, cast, self.treasury):
                self._progress(f"money: {project.reference} equipment paid")

    # --- the committee ---------------------------------------------------------------
    def _examine_in_committee(self, program, cast, files, outcome, total):
        """The new files bound past the committee go through real sessions (DESIGN.md §3):
        those that stay in committee go on the planned demo session's agenda; the others
        on one session the committee holds now — attendance, declarations of interest,
        votes, the chair's confirmations, the close with its minutes — after which each
        goes on to its state. With a large --projects the envelope runs out: such files
        wait in committee instead of being approved beyond the budget."""
        from approvals import services as committee_services
        from approvals.models import CommitteeSession
        from demo.scenarios import hold_session, plan_session, scenario_committee

        if not files:
            return
        free = free_balance(program)
        waiting, decisions, onward = [], {}, []
        for index, project, plan in files:
            target = plan.state
            if plan.is_committed:
                if free < plan.approved_amount:
                    target = ProjectState.IN_COMMITTEE
                    outcome["held_back"] += 1
                else:
                    free -= plan.approved_amount
            if target == ProjectState.IN_COMMITTEE:
                waiting.append(project.pk)
                continue
            path = PATHS[target]
            decision = path[path.index("schedule") + 1]  # approve, revise or reject
            decisions[project.pk] = (decision, plan.approved_amount if decision == "approve"
                                     else DECISION_REASONS[decision])
            onward.append((index, project, plan, target))
        committee = scenario_committee(program, cast)
        try:
            if waiting:
                planned = CommitteeSession.objects.filter(
                    committee=committee, title=demo_data.SESSION_TITLE, state="planned").first()
                if planned is None:
                    planned = plan_session(program, cast, title=demo_data.SESSION_TITLE)
                for project_id in waiting:
                    committee_services.session_add_item(session_id=planned.pk, project_id=project_id,
                                                        actor=cast.officer)
                self._progress(f"committee: {len(waiting)} file(s) on the agenda of {planned.title!r}")
            if decisions:
                number = CommitteeSession.objects.filter(committee=committee, state="closed").count() + 1
                session = plan_session(program, cast, list(decisions), title=DECIDED_SESSION_TITLE % {"n": number})
                hold_session(session.pk, cast, decisions)
                self._progress(f"committee: {session.title!r} held and closed, {len(decisions)} decision(s), "
                               "minutes signed")
            for index, project, plan, target in onward:
                project = self._drive_on(project, target, program, cast, plan)
                self._progress(f"projects: {index + 1}/{total}  {project.reference}  → {project.state}")
        except TamkeenError as exc:
            raise CommandError(f"committee: {exc.code}: {exc.message} {exc.field_errors or ''}".rstrip()) from exc

    # --- follow-up ---------------------------------------------------------------------
    def _drive_closed(self, project, program, cast, amount):
        """Closed files take each outcome in turn: success (every visit reported), failed
        (every visit reported, the activity stopped), abandoned early (with equipment
        recovered)."""
        from demo.scenarios import report_followup

        turn = program.projects.filter(state=ProjectState.CLOSED).count() % 3
        if turn == 0:
            return drive(project, ProjectState.CLOSED, cast, amount=amount)
        drive(project, ProjectState.LAUNCHED, cast, amount=amount)
        if turn == 1:
            report_followup(project.pk, cast, activity_running=False, stopped_reason=FOLLOWUP_STOPPED,
                            monthly_revenue="0.00", monthly_profit="-300.00", equipment_in_use=False,
                            sales_channels=[], recommendation="at_risk")
            followup_services.project_close(project_id=project.pk, actor=cast.officer, outcome="failed",
                                            reason=FOLLOWUP_STOPPED)
        else:
            followup_services.project_close(project_id=project.pk, actor=cast.officer, outcome="abandoned",
                                            reason=FOLLOWUP_ABANDONED,
                                            recovery={"items": FOLLOWUP_RECOVERED, "value": "9000.00"})
        return project.__class__.objects.get(pk=project.pk)

    def _seed_followup(self, program, cast):
        """Launched files: every one has its plan; the first has its first visit reported,
        the second is at risk (revenue falling across its first two visits). Files that
        already have a reported visit are kept as they are."""
        from django.utils import timezone

        from demo.scenarios import STABLE_VISIT
        from followup.models import FollowUpVisit

        launched = list(program.projects.filter(state=ProjectState.LAUNCHED).order_by("pk"))
        for project in launched:
            followup_services.followup_plan_create(project_id=project.pk, actor=cast.officer)
        revenues = (("4500.00",), ("5200.00", "3100.00"))
        for project, figures in zip(launched, revenues, strict=False):
            if project.mentor_id is None:
                followup_services.project_assign_mentor(project_id=project.pk, actor=cast.officer, mentor_id=cast.mentor.pk)
            visits = FollowUpVisit.objects.filter(project=project).order_by("sequence")
            if any(v.state != "planned" for v in visits):
                continue
            for visit, revenue in zip(visits, figures, strict=False):
                followup_services.visit_report(
                    visit_id=visit.pk, actor=cast.mentor,
                    **{**STABLE_VISIT, "visited_on": timezone.localdate(), "monthly_revenue": revenue,
                       "monthly_profit": "900.00"},
                )
            self._progress(f"follow-up: {project.reference} visits reported: {len(figures)}")

    # --- output ----------------------------------------------------------------------
    def _progress(self, line):
        if not self.quiet:
            self.stdout.write(line)
            self.stdout.flush()

    def _print_summary(self, program, outcome, new_users, elapsed, users):
        out, style = self.stdout, self.style
        counts = Counter(program.projects.values_list("state", flat=True))
        total = sum(counts.values())
        out.write("")
        out.write(style.MIGRATE_HEADING(f"{program} — {total} projects"))
        width = max(len(str(s.label)) for s in ProjectState)
        for state in demo_data.STATE_ORDER:
            out.write(f"  {str(state.label):<{width}}  {counts.get(state, 0):>4}")
        committed = committed_amount(program)
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
        out.write(style.MIGRATE_HEADING("Money"))
        for line in money_lines(program):
            out.write(f"  {line}")
        out.write("")
        out.write(style.MIGRATE_HEADING("What each role has to do"))
        for line in work_lines(users):
            out.write(f"  {line}")
        overdue = overdue_lines(program)
        if overdue:
            out.write(style.WARNING("  Overdue on purpose (the first beat tick reminds):"))
            for line in overdue:
                out.write(f"    {line}")
        out.write("")
        out.write(style.MIGRATE_HEADING("Demo logins"))
        out.write(f"  Open {self.url} (Django admin at {self.url}admin/ for the admin login).")
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
