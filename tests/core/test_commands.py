"""The management commands: create_user, sync_roles and seed_demo."""

import re
import tempfile
from collections import Counter
from io import StringIO

import pytest
from django.apps import apps
from django.contrib.auth.models import Group, Permission, User
from django.core.management import CommandError, ManagementUtility, call_command
from django.db import connections
from django.test import TestCase, override_settings

from core.roles import ROLE_PERMISSIONS, Role
from core.validators import CIN_PATTERN
from demo import demo_data
from demo.scenarios import PATHS
from disbursements.selectors import committed_amount
from ledger.models import AuditEntry
from workflow.models import Beneficiary, Document, GrantProject, Program, ProjectState


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


def roles_of(username) -> set[str]:
    return set(User.objects.get(username=username).groups.values_list("name", flat=True))


# --- create_user ------------------------------------------------------------------------


@pytest.mark.django_db
def test_create_user_gives_the_roles_and_never_prints_a_given_password():
    output = run(
        "create_user", "salma", "--role", "program_officer", "--role", "trainer",
        "--email", "salma@example.org", "--password", "Nador-Secret-2025",
    )
    user = User.objects.get(username="salma")
    assert roles_of("salma") == {"program_officer", "trainer"}
    assert user.check_password("Nador-Secret-2025")
    assert user.email == "salma@example.org"
    assert (user.is_active, user.is_staff, user.is_superuser) == (True, False, False)
    assert "Nador-Secret-2025" not in output
    assert "Created user salma" in output


@pytest.mark.django_db
def test_create_user_reads_the_password_from_a_file(tmp_path):
    secret = tmp_path / "password"
    secret.write_text("Fichier-Secret-2025\nignored second line\n", encoding="utf-8")
    output = run("create_user", "karim", "--role", "trainer", "--password-file", str(secret))
    assert User.objects.get(username="karim").check_password("Fichier-Secret-2025")
    assert "Fichier-Secret-2025" not in output


@pytest.mark.django_db
def test_create_user_prints_a_password_only_when_it_generated_one():
    # No terminal under pytest: a new user without a password gets a generated one.
    output = run("create_user", "nadia", "--role", "mentor", "--role", "committee_chair")
    generated = re.search(r"Generated password \(shown once\): (\S+)", output).group(1)
    assert User.objects.get(username="nadia").check_password(generated)
    # The chair is also a committee member.
    assert roles_of("nadia") == {"mentor", "committee_chair", "committee_member"}


@pytest.mark.django_db
def test_create_user_refuses_an_unknown_role_and_lists_the_valid_ones():
    with pytest.raises(CommandError) as refused:
        run("create_user", "omar", "--role", "program_officer", "--role", "boss")
    message = str(refused.value)
    assert "Unknown role: boss" in message
    assert all(role in message for role in Role.values)
    assert not User.objects.filter(username="omar").exists()


@pytest.mark.django_db
def test_create_user_exits_non_zero_on_the_command_line(capsys, monkeypatch):
    # run_from_argv closes every connection when it ends, the test's one included.
    monkeypatch.setattr(connections, "close_all", lambda: None)
    with pytest.raises(SystemExit) as exited:
        ManagementUtility(["manage.py", "create_user", "omar", "--role", "king", "--skip-checks"]).execute()
    assert exited.value.code == 1
    assert "Unknown role: king" in capsys.readouterr().err
    assert not User.objects.filter(username="omar").exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--role", "auditor", "--superuser"], "only for administrators"),
        ([], "at least one --role"),
        (["--role", "auditor", "--email", "not-an-address"], "Invalid e-mail"),
        (["--role", "auditor", "--password", "12345678"], "Password refused"),
    ],
)
def test_create_user_refuses_bad_input_without_writing(args, message):
    with pytest.raises(CommandError, match=message):
        run("create_user", "omar", *args)
    assert not User.objects.filter(username="omar").exists()


@pytest.mark.django_db
def test_create_user_updates_an_existing_user():
    run("create_user", "salma", "--role", "association_agent", "--password", "Nador-Secret-2025")
    other = Group.objects.create(name="newsletter")
    User.objects.get(username="salma").groups.add(other)

    output = run("create_user", "salma", "--role", "program_officer", "--email", "s@example.org")

    user = User.objects.get(username="salma")
    assert "Updated user salma" in output
    # Role groups are replaced; any other group stays; the password is kept.
    assert roles_of("salma") == {"program_officer", "newsletter"}
    assert user.check_password("Nador-Secret-2025")
    assert user.email == "s@example.org"
    assert User.objects.filter(username="salma").count() == 1

    run("create_user", "salma", "--no-active")  # no --role: roles kept
    assert roles_of("salma") == {"program_officer", "newsletter"}
    assert not User.objects.get(username="salma").is_active


@pytest.mark.django_db
def test_create_user_makes_an_administrator_staff_and_superuser():
    run("create_user", "rachid", "--role", "admin", "--superuser", "--password", "Admin-Nador-2025")
    user = User.objects.get(username="rachid")
    assert (user.is_staff, user.is_superuser) == (True, True)
    run("create_user", "rachid", "--no-superuser", "--no-staff")
    user = User.objects.get(username="rachid")
    assert (user.is_staff, user.is_superuser) == (False, False)


# --- sync_roles -------------------------------------------------------------------------


@pytest.mark.django_db
def test_sync_roles_restores_the_role_table_and_reports_each_role():
    auditor = Group.objects.get(name="auditor")
    auditor.permissions.add(Permission.objects.get(codename="change_grantproject"))
    Group.objects.get(name="trainer").delete()
    app_modules = {config.label: config.models_module for config in apps.get_app_configs()}

    output = run("sync_roles")

    for role, perms in ROLE_PERMISSIONS.items():
        assert role.value in output
        granted = {
            f"{p.content_type.app_label}.{p.codename}"
            for p in Group.objects.get(name=role.value).permissions.all()
        }
        assert granted == set(perms)
    assert re.search(r"auditor\s+\d+ permissions\s+-1", output)
    # The live app registry is left as it was (post_migrate handlers rely on it).
    assert {config.label: config.models_module for config in apps.get_app_configs()} == app_modules
    assert "0 changed" in run("sync_roles")


# --- seed_demo --------------------------------------------------------------------------


# Acts on the chain that keep the state (each attached document is one).
KEEPS_STATE = {"attach_document", "edit"}


def audit_steps(state) -> int:
    """Audit entries of a project driven to ``state`` that move it: its creation plus one
    per transition of the path (attaching documents keeps the state)."""
    return 1 + sum(step != "documents" for step in PATHS[ProjectState(state)])


class SeedDemoTests(TestCase):
    """One seed of 40 projects for the whole class (setUpTestData), rolled back after."""

    @classmethod
    def setUpClass(cls):
        media = cls.enterClassContext(tempfile.TemporaryDirectory())
        cls.enterClassContext(override_settings(MEDIA_ROOT=media))
        super().setUpClass()

    @classmethod
    def setUpTestData(cls):
        cls.output = run("seed_demo", "--projects", "40")
        cls.program = Program.objects.get(code=demo_data.PROGRAM["code"])

    def snapshot(self):
        from approvals.models import Committee, CommitteeMember, CommitteeSession, ScoringCriterion
        from disbursements.models import Disbursement, EnvelopeEvent, PurchaseOrder, Quote
        from notifications.models import StepDeadline

        return {
            model.__name__: model.objects.count()
            for model in (Program, Beneficiary, GrantProject, Document, AuditEntry, User, Group,
                          Committee, CommitteeMember, CommitteeSession, ScoringCriterion,
                          Disbursement, PurchaseOrder, Quote, EnvelopeEvent, StepDeadline)
        }

    def test_every_file_has_exactly_the_open_steps_of_its_state(self):
        from workflow.flows import open_steps, steps_match_state

        wrong = {p.reference: (p.state, open_steps(p)) for p in GrantProject.objects.all() if not steps_match_state(p)}
        self.assertEqual(wrong, {})
        # And the people have them in their inboxes.
        from workflow.inbox import inbox_tasks

        for username, node in [("program_officer", "screening"), ("association_agent", "resubmission"),
                               ("finance_officer", "funding"), ("committee_chair", "opening")]:
            user = User.objects.get(username=username)
            self.assertIn(node, {task.flow_task.name for task in inbox_tasks(user)}, username)

    def test_every_state_holds_at_least_two_of_at_least_40_projects(self):
        counts = Counter(self.program.projects.values_list("state", flat=True))
        assert sum(counts.values()) >= 40
        assert {state: counts[state] for state in ProjectState.values if counts[state] < 2} == {}
        assert "projects: 40/40" in self.output
        for state in ProjectState:
            assert re.search(rf"\b{state.label}\s+{counts[state]}\b", self.output)

    def test_every_project_has_a_real_history_matching_its_path(self):
        for project in self.program.projects.all():
            chain = list(AuditEntry.objects.for_entity(project).values_list(
                "seq", "transition", "to_state", "request_id"
            ))
            moves = [link for link in chain if link[1] not in KEEPS_STATE]
            assert len(moves) == audit_steps(project.state), (project.reference, project.state, chain)
            assert len(chain) - len(moves) == project.documents.count()  # one entry per document
            assert [seq for seq, *_rest in chain] == list(range(1, len(chain) + 1))
            assert chain[0][1] == "create"
            assert chain[-1][2] == project.state
            assert all(request_id.startswith("seed-demo-") for *_rest, request_id in chain)

    def test_separation_of_duties_is_respected(self):
        for project in self.program.projects.exclude(submitted_by=None):
            screen = AuditEntry.objects.for_entity(project).filter(transition__startswith="screen_").first()
            if screen is not None:
                assert screen.actor_id != project.submitted_by_id
                assert screen.actor.username == "program_officer2"

    def test_committed_amount_stays_within_the_envelope(self):
        committed = committed_amount(self.program)
        assert 0 < committed <= self.program.envelope
        for project in self.program.projects.exclude(approved_amount=None):
            assert project.approved_amount <= min(project.requested_amount, self.program.project_ceiling)

    def test_beneficiaries_cover_both_categories_with_valid_identifiers(self):
        people = Beneficiary.objects.filter(projects__program=self.program).distinct()
        assert people.filter(is_woman_in_difficulty=True, gender="F").exists()
        assert {"card", "medical_certificate"} <= set(
            people.filter(has_disability=True).values_list("disability_proof", flat=True)
        )
        for person in people:
            assert CIN_PATTERN.match(person.cin)
            assert re.fullmatch(r"\+212[67]\d{8}", person.phone)
            assert person.first_name_ar and person.last_name_ar

    def test_one_login_per_role_with_the_demo_password(self):
        for role in Role:
            user = User.objects.get(username=role.value)
            assert role.value in roles_of(role.value)
            assert user.check_password(demo_data.DEMO_PASSWORD)
        assert roles_of("program_officer2") == {"program_officer"}
        assert roles_of("committee_chair") == {"committee_chair", "committee_member"}
        assert self.output.count(demo_data.DEMO_PASSWORD) == 1

    def test_running_it_again_changes_nothing(self):
        before = self.snapshot()
        output = run("seed_demo", "--projects", "40", "--url", "http://127.0.0.1:8123")
        assert self.snapshot() == before
        assert "0 created, 40 already there" in output
        assert "Open http://127.0.0.1:8123/ (Django admin at http://127.0.0.1:8123/admin/" in output
        assert run("seed_demo", "--projects", "40", "--quiet").count("\n") == 1
        assert self.snapshot() == before

    def test_the_program_has_its_committee_and_a_planned_session(self):
        from approvals.models import CommitteeSession

        committee = self.program.committees.get()
        seats = sorted(committee.members.values_list("user__username", "role"))
        assert seats == [("committee_chair", "chair"), ("committee_member", "member")]
        assert list(self.program.criteria.values_list("code", flat=True)) == ["viability", "impact", "capacity",
                                                                           "market"]
        # The files waiting in committee are on the planned session's agenda (the officer
        # may add eligible ones); every decided file went through one closed session.
        planned, held = CommitteeSession.objects.filter(committee=committee).order_by("pk")
        in_committee = set(self.program.projects.filter(state="in_committee").values_list("pk", flat=True))
        assert (planned.title, planned.state) == (demo_data.SESSION_TITLE, "planned")
        assert set(planned.items.filter(removed=False).values_list("project_id", flat=True)) == in_committee
        assert list(AuditEntry.objects.for_entity(planned).values_list("transition", flat=True)) == (
            ["create"] + ["add_item"] * len(in_committee))
        assert (held.state, held.minutes.sha256) == ("closed", AuditEntry.objects.for_entity(held).last()
                                                     .payload["minutes_sha256"])
        decided = {p.pk for p in self.program.projects.all()
                   if "schedule" in PATHS[ProjectState(p.state)] and p.state != "in_committee"}
        assert set(held.items.values_list("project_id", flat=True)) == decided
        for project in self.program.projects.filter(pk__in=decided):
            decision = AuditEntry.objects.for_entity(project).get(transition__startswith="decide_")
            assert decision.actor.username == "committee_chair"
            assert decision.payload["decision"].startswith(f"session:{held.pk}/item:")

    # --- the money --------------------------------------------------------------------

    def test_money_moves_in_every_state_with_three_people_per_tranche(self):
        from disbursements.models import Disbursement, DisbursementState, OrderState, PurchaseOrder

        tranches = Disbursement.objects.filter(project__program=self.program)
        assert set(tranches.values_list("state", flat=True)) == set(DisbursementState.values)
        orders = PurchaseOrder.objects.filter(project__program=self.program)
        assert set(orders.values_list("state", flat=True)) == set(OrderState.values)
        assert orders.filter(state=OrderState.DRAFT, chosen_quote=None).exists()
        assert orders.filter(state=OrderState.DRAFT).exclude(chosen_quote=None).exists()
        assert set(tranches.values_list("requested_by__username", flat=True)) == {"finance_officer"}
        assert set(tranches.exclude(authorized_by=None).values_list("authorized_by__username", flat=True)) == {
            "authorizing_officer"}
        assert set(tranches.exclude(released_by=None).values_list("released_by__username", flat=True)) == {
            "treasurer"}
        assert set(tranches.filter(state="rejected").values_list("closed_by__username", flat=True)) == {
            "authorizing_officer"}
        assert set(tranches.filter(state="cancelled").values_list("closed_by__username", flat=True)) == {
            "finance_officer"}

    def test_each_file_has_released_what_its_stage_says(self):
        from demo.money import expected_released, released_on
        from disbursements.selectors import program_envelope_totals

        wrong = {p.reference: (p.state, released_on(p), expected_released(p))
                 for p in self.program.projects.all() if released_on(p) != expected_released(p)}
        assert wrong == {}
        for project in self.program.projects.filter(state__in=("equipped", "launched", "closed")):
            assert 0 < released_on(project) <= project.approved_amount, project.reference
        for project in self.program.projects.filter(state="funding"):
            assert project.disbursements.filter(state__in=("requested", "authorized")).exists(), project.reference
        released = program_envelope_totals(self.program).released
        assert released == sum(released_on(p) for p in self.program.projects.all()) > 0
        assert "Money" in self.output and "released " in self.output
        # The dashboard shows it (read by the auditor).
        from django.test import Client
        from django.urls import reverse

        from core.money import format_mad

        client = Client()
        client.force_login(User.objects.get(username="auditor"))
        board = client.get(reverse("dashboards:index"), {"program": self.program.pk})
        assert board.status_code == 200
        assert board.context["envelope_rows"] and format_mad(released) in board.content.decode()

    def test_every_role_has_something_to_do_on_its_pages(self):
        from django.test import Client
        from django.urls import reverse

        from workflow.inbox import inbox_tasks

        client = Client()
        acting = [role for role in Role if role not in (Role.AUDITOR, Role.ADMIN)]
        for role in acting:
            user = User.objects.get(username=role.value)
            tasks = list(inbox_tasks(user))
            assert tasks, role
            client.force_login(user)
            page = client.get(reverse("inbox:index"))
            assert page.status_code == 200 and page.context["rows"], role
        # The tray: a request to authorize, an authorized tranche to release.
        for username, key in (("authorizing_officer", "to_authorize"), ("treasurer", "to_release")):
            client.force_login(User.objects.get(username=username))
            tray = client.get(reverse("funding:index"))
            assert tray.status_code == 200 and len(tray.context[key]), username
        # The administrators: a grant waits for the second one's approval.
        from access.models import RoleRequest

        assert RoleRequest.objects.filter(status="pending").exclude(requested_by__username="admin2").exists()
        assert "What each role has to do" in self.output

    def test_the_demo_starts_with_only_the_overdue_work_it_announces(self):
        from disbursements.models import Disbursement
        from notifications.deadlines import deadlines_check
        from notifications.models import Notification, NotificationKind

        waiting_release = Disbursement.objects.filter(project__program=self.program, state="authorized")
        sent = deadlines_check()
        # Only the tranches waiting for the treasurer are overdue, on purpose, and said so.
        assert sent == {"reminders": waiting_release.count(), "escalations": 0}
        reminded = Notification.objects.filter(kind__in=(NotificationKind.REMINDER, NotificationKind.ESCALATION,
                                                         NotificationKind.VISIT_DUE))
        assert set(reminded.values_list("recipient__username", flat=True)) == {"treasurer"}
        assert "Overdue on purpose" in self.output
        for tranche in waiting_release:
            assert tranche.reference in self.output
