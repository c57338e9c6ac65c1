"""Query budgets (issue 7): the main pages run the same number of queries whatever the
number of projects, tasks, sessions or disbursements behind them.

Each test measures a page once with 10 rows behind it and once with 200, and asserts
the two counts are equal and within the page's budget. The first request of each test
only warms the per-process caches (content types, the flow's nodes).

The many rows are written directly (``bulk_create``, states given at creation): these
tests only read, and going through the services for 200 projects per page would make
them slow. The project whose page is measured has a real history through the services.
"""

from datetime import date, timedelta
from datetime import time as clock
from decimal import Decimal
from itertools import count

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from approvals.models import AgendaItem, CommitteeSession
from core.roles import Role
from disbursements.flows import DisbursementFlow
from disbursements.models import Disbursement, EnvelopeEvent
from training import services as training_services
from training.models import AttendanceRecord
from workflow import engine, services
from workflow.flows import process_for
from workflow.models import ActivitySector, Beneficiary, Commune, GrantProject

pytestmark = pytest.mark.django_db

SMALL, LARGE = 10, 200
# The most queries each page may run (its count is also the same for 10 and 200 rows).
# Measured on SQLite and PostgreSQL, plus a little room for what every page gains
# (the menu, the notifications counter). The menu's inbox badge is two small queries
# (my tasks, then my roles', each stopping at 100: workflow.inbox.inbox_count).
BUDGET = {
    "project_list": 13,
    "project_detail": 19,  # with the person's roles (core.roles), and the chain's stored verification (ledger)
    "inbox": 19,
    "session_list": 14,
    "session_detail": 16,
    "funding_inbox": 15,  # its waiting-for-me panel: my tasks, then my roles' (two indexed queries, no OR)
    "finance_officer_inbox": 17,
    "training_progress": 18,
}

_serial = count(1)


def queries(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return len(captured.captured_queries)


def measured(client, url, grow, page, django_assert_max_num_queries, *, shows=None):
    """Warm up, measure with SMALL rows, ``grow`` to LARGE, measure again. ``shows``: a
    text the page must contain once the rows exist (the measure is of a page listing them)."""
    grow(SMALL)
    client.get(url)
    small = queries(client, url)
    grow(LARGE - SMALL)
    with django_assert_max_num_queries(BUDGET[page]):
        response = client.get(url)
    assert response.status_code == 200
    if shows:
        assert shows in response.content.decode(), f"{page}: the generated rows are not on the page"
    large = queries(client, url)
    assert small == large, f"{page}: {small} queries with {SMALL} rows, {large} with {LARGE}"
    return large


# --- Fast fixtures: many rows in a given state, written directly ---------------------


def bulk_beneficiaries(n, creator):
    commune = Commune.objects.get(code="nador")
    rows = []
    for _ in range(n):
        i = next(_serial)
        rows.append(Beneficiary(
            first_name="Khadija", last_name=f"Bulk{i:05d}", first_name_ar="خديجة", last_name_ar="بلك",
            cin=f"QB{i:06d}", phone="+212612345678", gender="F", birth_date=date(1988, 4, 2), commune=commune,
            is_woman_in_difficulty=True, consent_given=True, consent_date=date(2025, 1, 5), created_by=creator,
        ))
    return Beneficiary.objects.bulk_create(rows)


def bulk_projects(n, state, *, program, creator, **fields):
    sector = ActivitySector.objects.get(code="sewing")
    rows = [
        GrantProject(
            program=program, beneficiary=beneficiary, title=f"Atelier {beneficiary.last_name}", sector=sector,
            description="Projet généré pour la mesure.", requested_amount=Decimal("50000.00"),
            own_contribution=Decimal("20000.00"), state=state, created_by=creator, **fields,
        )
        for beneficiary in bulk_beneficiaries(n, creator)
    ]
    GrantProject.objects.bulk_create(rows)
    return list(GrantProject.objects.filter(title__in=[row.title for row in rows]).order_by("pk"))


# --- Project list and project page ---------------------------------------------------


@pytest.mark.parametrize("query", ["", "?q=Bulk", "?state=approved", "?q=Atelier&state=approved&page=2"])
def test_project_list(client, cast, program, make_project, query, django_assert_max_num_queries):
    make_project("approved")  # one real history among the generated rows
    client.force_login(cast.officer)

    def grow(n):
        bulk_projects(n // 2, "approved", program=program, creator=cast.agent)
        bulk_projects(n - n // 2, "submitted", program=program, creator=cast.agent)

    if "page=2" in query:  # a second page exists only with many rows: measure 30 → 200
        grow(30)
    measured(client, reverse("projects:index") + query, grow, "project_list", django_assert_max_num_queries,
             shows="Atelier Bulk")


@pytest.fixture
def long_history(cast, make_project):
    """An approved project, suspended and resumed three times: 11 audit entries."""
    project = make_project("approved")
    for reason in ("Contrôle sur place.", "Pièce contestée.", "Vérification du devis."):
        services.project_suspend(project_id=project.pk, actor=cast.officer, reason=reason)
        services.project_resume(project_id=project.pk, actor=cast.officer)
    return project


def test_project_page(client, cast, program, long_history, django_assert_max_num_queries):
    client.force_login(cast.officer)
    url = reverse("projects:detail", args=[long_history.pk])

    def grow(n):
        bulk_projects(n, "approved", program=program, creator=cast.agent)

    measured(client, url, grow, "project_detail", django_assert_max_num_queries)


def test_project_page_does_not_grow_with_the_history(client, cast, make_project, long_history):
    """A short and a long history cost the same number of queries."""
    short = make_project("approved")
    client.force_login(cast.officer)
    client.get(reverse("projects:detail", args=[short.pk]))
    assert queries(client, reverse("projects:detail", args=[short.pk])) == queries(
        client, reverse("projects:detail", args=[long_history.pk])
    )


# --- The grant flow's inbox ----------------------------------------------------------


def test_inbox(client, cast, program, make_project, make_user, django_assert_max_num_queries):
    """The screening tasks of submitted files in the program officers' inbox."""
    real = make_project("submitted")
    template_process = process_for(real)
    template_task = template_process.task_set.get(status="NEW")
    officer = make_user(Role.PROGRAM_OFFICER)
    client.force_login(officer)

    def grow(n):
        # Each generated project gets a copy of the real project's process and open task.
        for project in bulk_projects(n, "submitted", program=program, creator=cast.agent):
            process = type(template_process).objects.get(pk=template_process.pk)
            process.pk = None
            process.artifact_object_id = project.pk
            process.data = {**process.data, "project_id": project.pk}
            process.save()
            task = type(template_task).objects.get(pk=template_task.pk)
            task.pk = None
            task.process = process
            task.save()

    measured(client, reverse("inbox:index"), grow, "inbox", django_assert_max_num_queries, shows="Atelier Bulk")


def test_inbox_of_every_kind(client, cast, program, make_project, make_user, django_assert_max_num_queries):
    """Tasks of two flows in one inbox: each page reads its rows' files and disbursements
    in one query per flow, whatever their number."""
    from disbursements import services as funding
    from disbursements.flows import DisbursementFlow
    from workflow.engine import OPEN, process_of

    both = make_user(Role.PROGRAM_OFFICER, Role.AUTHORIZING_OFFICER)
    funded = make_project("funding", amount="50000.00")
    disbursement = funding.disbursement_request(project_id=funded.pk, actor=cast.finance, amount="1000.00")
    templates = [process_for(make_project("submitted")), process_for(make_project("eligible")),
                 process_of(DisbursementFlow, disbursement)]
    client.force_login(both)

    def grow(n):
        for i in range(n):
            process = templates[i % len(templates)]
            task = process.task_set.get(status__in=OPEN)
            copy = type(process).objects.get(pk=process.pk)
            copy.pk = None
            copy.save()
            task.pk, task.process = None, copy
            task.created = timezone.now()  # the page's rows mix the three kinds
            task.save()

    measured(client, reverse("inbox:index"), grow, "inbox", django_assert_max_num_queries)


# --- Committees ----------------------------------------------------------------------


@pytest.fixture
def board(cast, program, make_user):
    from approvals import services as committee

    committee.criteria_ensure_defaults(program)
    members = [make_user(Role.COMMITTEE_MEMBER) for _ in range(3)]
    return committee.committee_create(
        actor=cast.officer, program=program, name="Comité provincial",
        members=[(cast.chair, "chair"), *[(m, "member") for m in members]],
    )


def _session(board, cast, title="Session de mars"):
    from approvals import services as committee

    return committee.session_create(
        actor=cast.officer, committee=board, title=title,
        scheduled_for=timezone.now() + timedelta(days=3), location="Nador",
    )


def test_committee_session_list(client, cast, board, program, make_project, django_assert_max_num_queries):
    from approvals import services as committee

    session = _session(board, cast)
    committee.session_add_item(session_id=session.pk, project_id=make_project("eligible").pk, actor=cast.officer)
    client.force_login(cast.officer)

    def grow(n):
        # Each generated session holds one generated file on its agenda.
        projects = bulk_projects(n, "in_committee", program=program, creator=cast.agent)
        sessions = CommitteeSession.objects.bulk_create([
            CommitteeSession(committee=board, title=f"Bulk session {next(_serial)}", created_by=cast.officer,
                             scheduled_for=timezone.now() + timedelta(days=i % 30), location="Nador")
            for i in range(n)
        ])
        AgendaItem.objects.bulk_create([
            AgendaItem(session=s, project=p, position=1) for s, p in zip(sessions, projects, strict=True)
        ])

    measured(client, reverse("committees:index"), grow, "session_list", django_assert_max_num_queries,
             shows="Bulk session")


def test_committee_session_page(client, cast, board, program, make_project, django_assert_max_num_queries):
    from approvals import services as committee

    session = _session(board, cast)
    committee.session_add_item(session_id=session.pk, project_id=make_project("eligible").pk, actor=cast.officer)
    client.force_login(cast.officer)

    def grow(n):
        projects = bulk_projects(n, "in_committee", program=program, creator=cast.agent)
        last = AgendaItem.objects.filter(session=session).count()
        AgendaItem.objects.bulk_create([
            AgendaItem(session=session, project=p, position=last + i) for i, p in enumerate(projects, 1)
        ])

    measured(client, reverse("committees:detail", args=[session.pk]), grow, "session_detail",
             django_assert_max_num_queries, shows="Bulk")


# --- Funding -------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.AUTHORIZING_OFFICER, Role.TREASURER])
def test_funding_inbox(client, cast, program, make_user, role, django_assert_max_num_queries):
    requester, authorizer = make_user(Role.FINANCE_OFFICER), make_user(Role.AUTHORIZING_OFFICER)
    client.force_login(make_user(role))

    def grow(n):
        projects = bulk_projects(n, "funding", program=program, creator=cast.agent,
                                 approved_amount=Decimal("50000.00"))
        rows = []
        for i, project in enumerate(projects):
            authorized = i % 2 == 1
            rows.append(Disbursement(
                project=project, amount=Decimal("10000.00"), purpose="Première tranche.",
                state="authorized" if authorized else "requested", requested_by=requester,
                authorized_by=authorizer if authorized else None,
                authorized_at=timezone.now() if authorized else None,
            ))
        # The tray lists the disbursements' open steps: each gets its process, as the
        # services would have started and moved it.
        for disbursement in Disbursement.objects.bulk_create(rows):
            engine.follow(DisbursementFlow, disbursement, "create", requester, "requested")
            if disbursement.state == "authorized":
                engine.follow(DisbursementFlow, disbursement, "authorize", authorizer, "authorized")

    measured(client, reverse("funding:index"), grow, "funding_inbox", django_assert_max_num_queries,
             shows="Bulk")


def test_finance_officers_inbox(client, cast, program, make_user, django_assert_max_num_queries):
    """Projects to prepare, their own requests and withdrawn projects' commitments to give back."""
    finance = make_user(Role.FINANCE_OFFICER)
    client.force_login(finance)

    def grow(n):
        for project in bulk_projects(n // 2, "funding", program=program, creator=cast.agent,
                                     approved_amount=Decimal("50000.00")):
            Disbursement.objects.create(project=project, amount=Decimal("10000.00"), purpose="Tranche.",
                                        requested_by=finance)
        withdrawn = bulk_projects(n - n // 2, "withdrawn", program=program, creator=cast.agent,
                                  approved_amount=Decimal("40000.00"))
        EnvelopeEvent.objects.bulk_create(
            EnvelopeEvent(program=program, project=p, kind="commit", amount=Decimal("40000.00"),
                          idempotency_key=f"commit:budget:{p.pk}", actor=finance)
            for p in withdrawn
        )

    measured(client, reverse("funding:index"), grow, "finance_officer_inbox", django_assert_max_num_queries,
             shows="Commitments to give back")


# --- Training ------------------------------------------------------------------------


def test_training_progress(client, cast, program, make_project, make_user, django_assert_max_num_queries):
    for code, hours in (("project-management", "10"), ("marketing", "5")):
        training_services.program_module_set(actor=cast.officer, program_id=program.pk, module=code, planned_hours=hours)
    trainer = make_user(Role.TRAINER)
    sessions = [
        training_services.training_session_create(
            actor=cast.officer, program_id=program.pk, module=module, trainer=trainer,
            date=date(2025, 3, 10), start_time=clock(9, 30), hours=hours, place="Maison des associations",
        )
        for module, hours in (("project-management", "8"), ("marketing", "5"))
    ]
    make_project("in_training")
    client.force_login(cast.officer)

    def grow(n):
        projects = bulk_projects(n, "in_training", program=program, creator=cast.agent)
        AttendanceRecord.objects.bulk_create([
            AttendanceRecord(session=session, project=project, present=(project.pk + k) % 3 != 0,
                             recorded_by=trainer, recorded_at=timezone.now())
            for project in projects for k, session in enumerate(sessions)
        ])

    measured(client, reverse("training:progress") + f"?program={program.pk}", grow, "training_progress",
             django_assert_max_num_queries, shows="Bulk")
