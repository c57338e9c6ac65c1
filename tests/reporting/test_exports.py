"""CSV exports (issue 7, item 4): the project list with its filters, a program's
payments — UTF-8 with a BOM, headers in the page's language, plain decimal amounts,
streamed, permission-checked, personal data only for roles allowed to see it."""

import csv
import io
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission, User
from django.db.models import Q
from django.test import Client
from django.urls import reverse

from core.roles import Role
from disbursements import services as funding
from workflow.models import Commune, Program

pytestmark = pytest.mark.django_db
PASSWORD = "pass-Tamkeen-2025"
BOM = "\ufeff"


def read_csv(response):
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="')
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith(BOM)
    return list(csv.reader(io.StringIO(text[len(BOM):])))


@pytest.fixture
def files(make_project, make_beneficiary, program):
    zaio = Commune.objects.get(code="zaio")
    approved = make_project("approved", amount="40000.00", title="Atelier de couture",
                            beneficiary=make_beneficiary(first_name="Samira", last_name="Bakkali", cin="AB123456",
                                                         first_name_ar="سميرة", last_name_ar="البقالي"))
    draft = make_project("draft", title="=HYPERLINK(\"http://x\")", beneficiary=make_beneficiary(commune=zaio))
    other = Program.objects.create(code="other", name="Autre programme", year=2024, envelope=Decimal("100000"),
                                   project_ceiling=Decimal("90000"))
    elsewhere = make_project("draft", program=other, title="Boulangerie")
    return {"approved": approved, "draft": draft, "elsewhere": elsewhere, "program": program, "other": other}


def export(client, **params):
    return read_csv(client.get(reverse("projects:export"), params))


def test_project_export_has_bom_headers_and_plain_amounts(client, cast, files):
    client.force_login(cast.officer)
    rows = export(client, program=files["program"].pk)
    header = rows[0]
    assert header[:8] == ["Reference", "Title", "Program", "State", "Activity sector", "Commune",
                          "Beneficiary (Latin script)", "Beneficiary (Arabic)"]
    assert "National ID (CIN)" in header  # program officers may see it
    by_ref = {row[0]: dict(zip(header, row, strict=True)) for row in rows[1:]}
    assert set(by_ref) == {files["approved"].reference, files["draft"].reference}
    approved = by_ref[files["approved"].reference]
    assert approved["State"] == "approved"
    assert approved["Requested amount (MAD), plain decimal (60000.00)"] == "60000.00"
    assert approved["Approved amount (MAD), plain decimal (60000.00)"] == "40000.00"
    assert approved["National ID (CIN)"] == "AB123456"
    assert approved["Beneficiary (Arabic)"] == "سميرة البقالي"
    # A formula never reaches the spreadsheet.
    assert by_ref[files["draft"].reference]["Title"] == "'=HYPERLINK(\"http://x\")"


def test_project_export_applies_the_list_filters(client, cast, files):
    client.force_login(cast.officer)
    # Newest first, as the list shows them.
    assert [r[0] for r in export(client, state="draft")[1:]] == [files["elsewhere"].reference,
                                                                 files["draft"].reference]
    assert [r[0] for r in export(client, q="Bakkali")[1:]] == [files["approved"].reference]
    assert [r[0] for r in export(client, q="Boulangerie", program=files["program"].pk)[1:]] == []
    assert len(export(client)) == 4  # no filter: every project


def test_project_export_in_arabic(cast, files):
    client = Client(HTTP_ACCEPT_LANGUAGE="ar")
    client.force_login(cast.officer)
    rows = export(client, q="Bakkali")
    assert rows[0][:4] == ["المرجع", "العنوان", "البرنامج", "الحالة"]
    assert rows[1][3] != "approved"  # the state's Arabic label


def test_project_export_leaves_out_personal_data_for_roles_that_may_not_see_it(client, files):
    reader = User.objects.create_user("reader", password=PASSWORD)
    reader.user_permissions.set(Permission.objects.filter(
        Q(content_type__app_label="workflow", codename="view_grantproject")
        | Q(content_type__app_label="ledger", codename="view_auditentry")))
    client.force_login(reader)
    rows = export(client)
    assert "National ID (CIN)" not in rows[0] and "Person with a disability" not in rows[0]
    assert not any("AB123456" in cell for row in rows for cell in row)


@pytest.mark.parametrize("role,allowed", [
    (Role.PROGRAM_OFFICER, True), (Role.AUDITOR, True), (Role.ADMIN, True),
    (Role.ASSOCIATION_AGENT, False), (Role.MENTOR, False), (Role.FINANCE_OFFICER, False),
    (Role.COMMITTEE_MEMBER, False),
])
def test_who_may_export_projects(client, make_user, files, role, allowed):
    client.force_login(make_user(role))
    response = client.get(reverse("projects:export"))
    assert response.status_code == (200 if allowed else 403)
    page = client.get(reverse("projects:index"), {"state": "draft"}).content.decode()
    assert ('/projects/export.csv?state=draft' in page) is allowed


# --- Payments -----------------------------------------------------------------------------


@pytest.fixture
def paid(make_project, make_user, cast, program):
    authorizer = make_user(Role.AUTHORIZING_OFFICER, username="ordonnateur")
    treasurer = make_user(Role.TREASURER, username="comptable")
    project = make_project("funding", amount="50000.00")
    released = []
    for amount, key in (("12000.50", "k1"), ("3000.00", "k2")):
        d = funding.disbursement_request(project_id=project.pk, actor=cast.finance, amount=amount)
        funding.disbursement_authorize(disbursement_id=d.pk, actor=authorizer)
        released.append(funding.disbursement_release(
            disbursement_id=d.pk, actor=treasurer, password=PASSWORD, payment_reference=f"VIR-{key}",
            idempotency_key=key))
    pending = funding.disbursement_request(project_id=project.pk, actor=cast.finance, amount="10.00")
    return {"treasurer": treasurer, "project": project, "released": released, "pending": pending}


def test_payments_export_matches_the_accounting_rows(client, paid, program):
    from disbursements.selectors import payments_csv

    client.force_login(paid["treasurer"])
    rows = read_csv(client.get(reverse("dashboards:payments"), {"program": program.pk}))
    assert rows[0] == ["Reference", "Project", "Beneficiary", "Amount (MAD), plain decimal (60000.00)",
                       "Payment reference", "Released at",
                       "Released by"]
    assert [(r[0], r[3], r[4]) for r in rows[1:]] == [
        (d.reference, format(d.amount, "f"), d.payment_reference) for d in paid["released"]]
    # The same rows as the accounting export, under localized headers.
    accounting = list(csv.reader(io.StringIO(payments_csv(program))))
    assert rows[1:] == accounting[1:]


def test_payments_export_refuses_a_missing_program_with_a_coded_page(client, paid):
    client.force_login(paid["treasurer"])
    for params in ({}, {"program": "nope"}, {"program": 999999}):
        response = client.get(reverse("dashboards:payments"), params)
        assert response.status_code == 400
        assert 'data-code="invalid_input"' in response.content.decode()


@pytest.mark.parametrize("role,allowed", [
    (Role.TREASURER, True), (Role.AUDITOR, True), (Role.FINANCE_OFFICER, True),
    (Role.ASSOCIATION_AGENT, False), (Role.MENTOR, False),
])
def test_who_may_export_payments(client, make_user, program, role, allowed):
    client.force_login(make_user(role))
    response = client.get(reverse("dashboards:payments"), {"program": program.pk})
    assert response.status_code == (200 if allowed else 403)


def test_project_export_queries_do_not_grow_with_projects(client, cast, program, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.reporting.test_dashboards import fast_projects

    user = User.objects.get(pk=cast.officer.pk)
    client.force_login(user)
    fast_projects(program, 10, user)
    export(client)  # warm caches
    with CaptureQueriesContext(connection) as with_10:
        assert len(export(client)) == 11
    fast_projects(program, 190, user)
    with django_assert_max_num_queries(len(with_10)):
        assert len(export(client)) == 201
