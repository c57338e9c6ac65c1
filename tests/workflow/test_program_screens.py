"""The programs' pages (workflow.views.programs) at /programs/:
the list, a program's page (settings, the sections the apps above add, the audit
timeline) and the forms that call program_create / program_update."""

from decimal import Decimal

import pytest
from django.urls import reverse

from core.roles import Role
from ledger.models import AuditEntry
from tests._web import as_user, html_of
from workflow import services
from workflow.models import Program

pytestmark = pytest.mark.django_db


def settings_data(**overrides):
    data = {
        "code": "driouch-2026", "name": "AGR Driouch", "year": "2026", "province": "Nador",
        "envelope": "1 500 000,00", "project_ceiling": "120000", "contribution_share": "0.300",
        "min_age": "18", "max_age": "60", "support_cooldown_years": "2",
        "required_documents": ["cin_copy", "business_plan"], "training_threshold": "80",
        "followup_offsets": "3, 6, 12, 24", "quorum_percent": "50", "majority_rule": "votes_cast",
        "is_active": "on",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def row(program):
    return Program.objects.filter(pk=program.pk).values().get()


@pytest.fixture
def admin(make_user):
    return make_user(Role.ADMIN, username="administrator")


# --- access -----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/programs/", "/programs/new/", "/programs/1/", "/programs/1/edit/"])
def test_anonymous_user_is_sent_to_login(client, path):
    response = client.get(path)
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_the_owning_roles_get_the_forms_and_the_others_a_403(client, cast, admin, program, make_user):
    for user in (cast.officer, admin):
        as_user(client, user)
        assert client.get(reverse("programs:create")).status_code == 200
        assert client.get(reverse("programs:edit", args=[program.pk])).status_code == 200
    for role in (Role.ASSOCIATION_AGENT, Role.AUDITOR, Role.COMMITTEE_CHAIR):
        as_user(client, make_user(role))
        assert client.get(reverse("programs:create")).status_code == 403
        assert client.get(reverse("programs:edit", args=[program.pk])).status_code == 403
        before = row(program)
        assert client.post(reverse("programs:edit", args=[program.pk]), settings_data(name="x")).status_code == 403
        assert row(program) == before
        # They read the programs all the same.
        assert client.get(reverse("programs:detail", args=[program.pk])).status_code == 200


def test_an_unknown_program_is_a_404(client, cast):
    as_user(client, cast.officer)
    assert client.get(reverse("programs:detail", args=[999999])).status_code == 404
    assert client.get(reverse("programs:edit", args=[999999])).status_code == 404


# --- list -------------------------------------------------------------------------------------


def test_the_list_searches_and_pages(client, cast, program):
    for n in range(22):
        Program.objects.create(code=f"p-{n}", name=f"AGR Selouane {n}", year=2024, province="Nador",
                               envelope=Decimal("1000"), project_ceiling=Decimal("100"))
    as_user(client, cast.officer)
    first = html_of(client.get(reverse("programs:index")))
    assert first.count('class="tamkeen-program-row"') == 20
    assert 'Page <bdi dir="ltr">1</bdi> of 2' in first and "tamkeen-new-program" in first
    second = html_of(client.get(reverse("programs:index") + "?page=2"))
    assert second.count('class="tamkeen-program-row"') == 3
    found = html_of(client.get(reverse("programs:index") + "?q=Selouane+21"))
    assert found.count('class="tamkeen-program-row"') == 1 and "AGR Selouane 21" in found
    by_year = html_of(client.get(reverse("programs:index") + "?q=2025"))
    assert by_year.count('class="tamkeen-program-row"') == 1 and program.name in by_year
    nothing = html_of(client.get(reverse("programs:index") + "?q=zzz"))
    assert "No program matches." in nothing


def test_an_empty_list_invites_the_officer_to_set_up_the_first_program(client, cast, make_user):
    as_user(client, cast.officer)
    assert "Set up the first one." in html_of(client.get(reverse("programs:index")))
    as_user(client, make_user(Role.AUDITOR))
    page = html_of(client.get(reverse("programs:index")))
    assert "No program yet." in page and "Set up the first one." not in page and "tamkeen-new-program" not in page


# --- create -----------------------------------------------------------------------------------


def test_an_officer_sets_up_a_program_from_the_form(client, cast):
    as_user(client, cast.officer)
    response = client.post(reverse("programs:create"), settings_data())

    program = Program.objects.get(code="driouch-2026")
    assert response.status_code == 302 and response["Location"] == reverse("programs:detail", args=[program.pk])
    assert (program.envelope, program.project_ceiling, program.required_documents, program.followup_offsets,
            program.is_active) == (Decimal("1500000.00"), Decimal("120000.00"), ["cin_copy", "business_plan"],
                                   [3, 6, 12, 24], True)
    entry = AuditEntry.objects.for_entity(program).get()
    assert (entry.transition, entry.actor_id) == ("create", cast.officer.pk)
    page = html_of(client.get(response["Location"]))
    assert "Program set up." in page and "program set up" in page and "Chain verified." in page
    assert '<bdi dir="ltr">1,500,000.00</bdi>\u00a0MAD' in page


def test_a_wrong_form_shows_the_services_errors_on_their_fields_and_saves_nothing(client, cast, program):
    as_user(client, cast.officer)
    before = (Program.objects.count(), AuditEntry.objects.count())
    response = client.post(reverse("programs:create"), settings_data(
        code=program.code, envelope="lots", max_age="16", followup_offsets="3, 6, 130"))

    page = html_of(response)
    form = response.context["form"]
    assert set(form.errors) == {"code", "envelope", "max_age", "followup_offsets"}
    assert "Enter an amount in dirhams" in form.errors["envelope"][0]
    assert "tamkeen-field--error" in page
    assert (Program.objects.count(), AuditEntry.objects.count()) == before


def test_months_that_are_not_numbers_are_refused_by_the_form(client, cast):
    as_user(client, cast.officer)
    response = client.post(reverse("programs:create"), settings_data(followup_offsets="three, six"))
    assert response.status_code == 200
    assert "followup_offsets" in response.context["form"].errors
    assert not Program.objects.filter(code="driouch-2026").exists()


# --- edit -------------------------------------------------------------------------------------


def test_the_edit_form_shows_the_settings_and_saves_a_change_with_its_audit_entry(client, cast, program):
    as_user(client, cast.officer)
    page = html_of(client.get(reverse("programs:edit", args=[program.pk])))
    assert 'value="3, 6, 12, 24"' in page
    assert 'name="required_documents" value="business_plan"' in page and "checked" in page
    assert 'name="code"' not in page

    data = settings_data(name=program.name, year="2025", envelope="1000000.00", project_ceiling="100000.00",
                         required_documents=["cin_copy", "residence_certificate", "business_plan"],
                         followup_offsets="3, 6, 12")
    data.pop("code")
    response = client.post(reverse("programs:edit", args=[program.pk]), data)

    assert response.status_code == 302 and response["Location"] == reverse("programs:detail", args=[program.pk])
    stored = Program.objects.get(pk=program.pk)
    assert stored.followup_offsets == [3, 6, 12]
    trail = list(AuditEntry.objects.for_entity(program).order_by("seq").values_list("transition", "payload"))
    assert [transition for transition, _payload in trail] == ["create", "configure"]
    assert trail[1][1] == {"changes": {"followup_offsets": {"before": [3, 6, 12, 24], "after": [3, 6, 12]}}}
    detail = html_of(client.get(response["Location"]))
    assert "Settings saved." in detail and "settings changed" in detail
    assert '<bdi dir="ltr">3, 6, 12, 24</bdi> → <bdi dir="ltr">3, 6, 12</bdi>' in detail


def test_lowering_the_envelope_below_what_is_committed_is_refused_on_the_field(client, cast, program, make_project):
    make_project("approved", amount="60000.00")
    as_user(client, cast.officer)
    before, entries = row(program), AuditEntry.objects.count()
    data = settings_data(name=program.name, year="2025", envelope="50000", project_ceiling="40000")
    data.pop("code")
    response = client.post(reverse("programs:edit", args=[program.pk]), data)

    html_of(response)
    errors = response.context["form"].errors
    assert list(errors) == ["envelope"] and "60,000.00 MAD already committed" in errors["envelope"][0]
    assert row(program) == before and AuditEntry.objects.count() == entries


# --- the program's page -----------------------------------------------------------------------


def test_the_page_shows_the_settings_the_sections_and_the_audit_timeline(client, cast, program):
    services.program_update(program_id=program.pk, actor=cast.officer, training_threshold=75)
    as_user(client, cast.officer)
    page = html_of(client.get(reverse("programs:detail", args=[program.pk])))
    assert "Attendance threshold (%)" in page and "75" in page
    assert 'id="committees"' in page and 'id="training"' in page
    assert "The settings the program had before its changes were recorded." in page
    assert '<bdi dir="ltr">80</bdi> → <bdi dir="ltr">75</bdi>' in page and "Chain verified." in page
    assert reverse("programs:edit", args=[program.pk]) in page
    assert reverse("committees:committee_create", args=[program.pk]) in page
    assert reverse("training:plan", args=[program.pk]) in page
    assert "No committee yet." in page


def test_the_committees_section_lists_each_committee_with_its_chair(client, cast, program):
    from approvals import services as committee

    board = committee.committee_create(actor=cast.officer, program=program, name="Comité provincial",
                                       members=[(cast.chair, "chair")])
    as_user(client, cast.officer)
    page = html_of(client.get(reverse("programs:detail", args=[program.pk])))
    assert reverse("committees:committee", args=[board.pk]) in page and "Comité provincial" in page
    assert page.count('class="tamkeen-program-committee"') == 1


def test_a_reader_sees_no_way_to_change_the_settings(client, program, make_user):
    as_user(client, make_user(Role.AUDITOR))
    page = html_of(client.get(reverse("programs:detail", args=[program.pk])))
    assert reverse("programs:edit", args=[program.pk]) not in page
    assert "its history starts with its first change" in page


# --- the admin --------------------------------------------------------------------------------


def test_the_admin_only_reads_a_program_and_its_time_limits(client, program, admin_user):
    client.force_login(admin_user)
    change = reverse("admin:workflow_program_change", args=[program.pk])
    assert client.get(change).status_code == 200
    assert client.get(reverse("admin:workflow_program_add")).status_code == 403
    before = row(program)
    response = client.post(change, {
        "name": "Renamed silently", "envelope": "1",
        "step_deadlines-TOTAL_FORMS": "1", "step_deadlines-INITIAL_FORMS": "0",
        "step_deadlines-MIN_NUM_FORMS": "0", "step_deadlines-MAX_NUM_FORMS": "1000",
        "step_deadlines-0-step": "screening", "step_deadlines-0-remind_after_days": "3",
        "step_deadlines-0-escalate_after_days": "6",
    })
    assert response.status_code == 302, response.content.decode()[:2000]
    assert row(program) == before
    assert not AuditEntry.objects.for_entity(program).exists()
    # The time limits change on the program's page, signed (notifications.program_deadline_set).
    assert not program.step_deadlines.exists()


def test_follow_up_months_read_latin_and_arabic_commas_and_digits():
    from workflow.forms_programs import ProgramForm

    form = ProgramForm()
    for text, months in [("3, 6, 12", [3, 6, 12]), ("3، 6؛ 12", [3, 6, 12]), ("٣، ٦", [3, 6])]:
        form.cleaned_data = {"followup_offsets": text}
        assert form.clean_followup_offsets() == months
