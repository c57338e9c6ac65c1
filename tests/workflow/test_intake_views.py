"""The association agent's intake screens: a new application (new or existing
beneficiary + project), the edition of a draft, the upload of documents, then the
submission from the project page."""

import hashlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from core.roles import Role
from demo.scenarios import attach_required_documents
from ledger.models import AuditEntry
from workflow import services
from workflow.models import ActivitySector, Beneficiary, Commune, Document, GrantProject

pytestmark = pytest.mark.django_db

CREATE = reverse("projects:create")


@pytest.fixture
def agent_client(client, cast):
    client.force_login(cast.agent)
    return client


def application(program, **overrides):
    data = {
        "first_name": "Khadija", "last_name": "Bouazza", "first_name_ar": "خديجة", "last_name_ar": "بوعزة",
        "cin": "s 654 321", "phone": "06 61 22 33 44", "gender": "F", "birth_date": "1988-03-14",
        "commune": Commune.objects.get(code="nador").pk, "is_woman_in_difficulty": "on",
        "consent_given": "on", "consent_date": "2025-02-01",
        "program": program.pk, "title": "Atelier de couture Al Amal",
        "sector": ActivitySector.objects.get(code="sewing").pk,
        "description": "Deux machines à coudre et une surjeteuse.",
        "requested_amount": "52 500,00", "own_contribution": "22 500,00",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def counts():
    return Beneficiary.objects.count(), GrantProject.objects.count(), AuditEntry.objects.count()


def field_errors(response, field):
    return [str(e) for e in response.context["form"].errors.get(field, [])]


def test_the_project_list_offers_a_new_application_to_agents_only(client, cast, make_user):
    client.force_login(cast.agent)
    assert "New application" in client.get(reverse("projects:index")).content.decode()
    client.force_login(make_user(Role.AUDITOR))
    assert "New application" not in client.get(reverse("projects:index")).content.decode()


def test_agent_creates_a_beneficiary_and_a_project(agent_client, cast, program):
    before = counts()
    response = agent_client.post(CREATE, application(program))

    project = GrantProject.objects.get(title="Atelier de couture Al Amal")
    assert response.status_code == 302 and response.url == reverse("projects:detail", args=[project.pk])
    assert counts() == (before[0] + 1, before[1] + 1, before[2] + 1)
    person = project.beneficiary
    assert (person.cin, person.phone, person.created_by_id) == ("S654321", "+212661223344", cast.agent.pk)
    assert person.consent_given and str(person.consent_date) == "2025-02-01"
    assert (str(project.requested_amount), str(project.own_contribution)) == ("52500.00", "22500.00")
    assert (project.state, project.created_by_id, project.program_id) == ("draft", cast.agent.pk, program.pk)
    created = AuditEntry.objects.for_entity(project).get()
    assert (created.transition, created.to_state, created.actor_id) == ("create", "draft", cast.agent.pk)

    page = agent_client.get(response.url).content.decode()
    assert f"Application {project.reference} opened as a draft." in page
    assert "Still missing before the application can be submitted:" in page
    assert "copy of the national ID card" in page


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"cin": "123"}, "cin", "Enter a national ID (CIN)"),
        ({"phone": "12345"}, "phone", "Enter a Moroccan phone number"),
        ({"commune": "999999"}, "commune", "Select a valid choice"),
        ({"requested_amount": "150 000,00"}, "requested_amount", "exceeds the program ceiling of 100,000.00\u00a0MAD."),
        ({"requested_amount": "1.500"}, "requested_amount", "at most two decimals"),
        ({"is_woman_in_difficulty": None}, "is_woman_in_difficulty", "Choose at least one category"),
        ({"has_disability": "on"}, "disability_proof", "Say how the disability is proven."),
        ({"consent_given": "on", "consent_date": ""}, "consent_date", "Give the date consent was collected."),
        ({"consent_given": None, "consent_date": ""}, "consent_given", "Record the beneficiary's consent"),
        ({"first_name_ar": ""}, "first_name_ar", "This field is required."),
    ],
)
def test_a_mistake_is_said_on_its_field_and_nothing_is_saved(agent_client, program, overrides, field, message):
    before = counts()
    response = agent_client.post(CREATE, application(program, **overrides))
    assert response.status_code == 200
    assert any(message in e for e in field_errors(response, field)), response.context["form"].errors
    assert counts() == before


def test_a_beneficiary_is_not_left_behind_when_the_project_is_refused(agent_client, program):
    """The beneficiary part is valid and would be saved alone: the refused project
    takes it back with it (one transaction)."""
    before = counts()
    response = agent_client.post(CREATE, application(program, requested_amount="250000"))
    assert field_errors(response, "requested_amount")
    assert not field_errors(response, "cin")
    assert counts() == before
    assert not Beneficiary.objects.filter(cin="S654321").exists()


def test_mistakes_of_both_parts_are_said_at_once(agent_client, program):
    before = counts()
    response = agent_client.post(CREATE, application(program, cin="??", requested_amount="abc",
                                                     phone="01", gender="M"))
    for field in ("cin", "phone", "gender", "requested_amount"):
        assert field_errors(response, field), field
    assert counts() == before


def test_a_missing_field_a_registered_cin_and_an_amount_over_the_ceiling_come_in_one_round(
        agent_client, program):
    """The form's refusal (a missing title) used to hide the service's (the CIN, the
    ceiling) until a second submission."""
    agent_client.post(CREATE, application(program))
    before = counts()
    response = agent_client.post(CREATE, application(program, title="", requested_amount="150 000,00",
                                                     phone="06 61 22 33 55"))
    assert response.status_code == 200
    assert field_errors(response, "title") == ["This field is required."]
    assert field_errors(response, "cin") == [
        "A beneficiary with this national ID (CIN) is already registered: "
        "find her or him with the search above instead of registering again."
    ]
    assert field_errors(response, "requested_amount") == [
        "The requested amount exceeds the program ceiling of 100,000.00\xa0MAD."
    ]
    page = response.content.decode()
    assert "already exists" not in page and "100000.00" not in page
    assert counts() == before


def test_the_application_form_draws_material_fields(agent_client, program):
    page = agent_client.get(CREATE).content.decode()
    assert 'class="mdc-text-field mdc-text-field--filled tamkeen-field tamkeen-field--text' in page
    assert 'tamkeen-field--select' in page and 'mdc-text-field--textarea' in page
    assert 'class="mdc-floating-label mdc-floating-label--float-above"' in page
    assert 'mdc-checkbox__native-control' in page and 'mdc-checkbox__background' in page
    assert 'class="mdc-text-field__input" id="id_title"' in page or 'id="id_title"' in page
    assert 'mdc-text-field-helper-text--persistent tamkeen-help" id="id_cin_helptext"' in page
    response = agent_client.post(CREATE, application(program, title=""))
    assert 'mdc-text-field--invalid tamkeen-field--error">' in response.content.decode()
    assert 'mdc-text-field-helper-text--validation-msg">This field is required.' in response.content.decode()


def test_a_commune_outside_the_program_province_is_refused(agent_client, program):
    Commune.objects.create(code="oujda", name_fr="Oujda", name_ar="وجدة", province="Oujda", kind="urban")
    commune = Commune.objects.get(code="oujda")
    before = counts()
    response = agent_client.post(CREATE, application(program, commune=commune.pk))
    assert field_errors(response, "commune")
    assert counts() == before


def test_agent_finds_an_existing_beneficiary_and_opens_a_project_for_her(
    agent_client, cast, program, make_beneficiary
):
    person = make_beneficiary(first_name="Naima", last_name="Ziani")
    page = agent_client.get(CREATE, {"find": person.cin}).content.decode()
    assert "Naima Ziani" in page and f"?beneficiary={person.pk}" in page
    page = agent_client.get(CREATE, {"find": "ziani"}).content.decode()
    assert f"?beneficiary={person.pk}" in page
    page = agent_client.get(CREATE, {"beneficiary": person.pk}).content.decode()
    assert 'name="cin"' not in page and "Naima Ziani" in page

    before = counts()
    fields = dict.fromkeys(("first_name", "last_name", "first_name_ar", "last_name_ar", "cin", "phone",
                            "gender", "birth_date", "commune", "is_woman_in_difficulty", "consent_given",
                            "consent_date"))
    response = agent_client.post(CREATE, application(program, beneficiary=person.pk, **fields))
    assert response.status_code == 302
    project = GrantProject.objects.latest("pk")
    assert project.beneficiary_id == person.pk
    assert counts() == (before[0], before[1] + 1, before[2] + 1)


def test_the_search_by_cin_is_for_roles_that_see_it(client, make_user, make_beneficiary):
    """The CIN search is the agent's (tested above); the form itself is closed to others."""
    from workflow.forms_intake import search_beneficiaries

    person = make_beneficiary(first_name="Naima", last_name="Ziani")
    assert list(search_beneficiaries(person.cin, with_cin=True)) == [person]
    assert list(search_beneficiaries(person.cin, with_cin=False)) == []
    assert list(search_beneficiaries("naima", with_cin=False)) == [person]


@pytest.mark.parametrize("role", [Role.TRAINER, Role.COMMITTEE_MEMBER, Role.AUDITOR])
def test_other_roles_cannot_create_edit_or_upload(client, make_user, make_project, program, role):
    draft = make_project("draft")
    client.force_login(make_user(role))
    before = counts(), Document.objects.count()
    assert client.get(CREATE).status_code == 403
    assert client.post(CREATE, application(program)).status_code == 403
    assert client.get(reverse("projects:edit", args=[draft.pk])).status_code == 403
    assert client.post(reverse("projects:edit", args=[draft.pk]), {"title": "x"}).status_code == 403
    upload = SimpleUploadedFile("cin.pdf", b"%PDF-1.4 x", "application/pdf")
    assert client.post(reverse("projects:upload", args=[draft.pk]),
                       {"doc_type": "cin_copy", "file": upload}).status_code == 403
    assert (counts(), Document.objects.count()) == before
    page = client.get(reverse("projects:detail", args=[draft.pk])).content.decode()
    assert "Upload a document" not in page and "Edit the application" not in page


def edit_data(project, **overrides):
    data = {"title": project.title, "sector": project.sector_id, "description": project.description,
            "requested_amount": str(project.requested_amount), "own_contribution": str(project.own_contribution)}
    data.update(overrides)
    return data


def test_agent_edits_a_draft(agent_client, make_project):
    draft = make_project("draft")
    page = agent_client.get(reverse("projects:detail", args=[draft.pk])).content.decode()
    assert reverse("projects:edit", args=[draft.pk]) in page
    form = agent_client.get(reverse("projects:edit", args=[draft.pk])).content.decode()
    assert 'name="requested_amount"' in form and draft.title in form
    response = agent_client.post(reverse("projects:edit", args=[draft.pk]),
                                 edit_data(draft, title="Atelier élargi", requested_amount="61 000,50"))
    assert response.status_code == 302
    draft = GrantProject.objects.get(pk=draft.pk)
    assert (draft.title, str(draft.requested_amount)) == ("Atelier élargi", "61000.50")


def test_an_edit_over_the_ceiling_is_refused_on_its_field(agent_client, make_project):
    draft = make_project("draft")
    response = agent_client.post(reverse("projects:edit", args=[draft.pk]),
                                 edit_data(draft, title="Autre", requested_amount="100 000,01"))
    assert response.status_code == 200
    assert field_errors(response, "requested_amount")
    assert GrantProject.objects.get(pk=draft.pk).title == draft.title


def test_a_submitted_project_cannot_be_edited(agent_client, cast, make_project):
    project = make_project("submitted")
    page = agent_client.get(reverse("projects:detail", args=[project.pk])).content.decode()
    assert reverse("projects:edit", args=[project.pk]) not in page
    response = agent_client.post(reverse("projects:edit", args=[project.pk]),
                                 edit_data(project, title="Changed"), follow=True)
    assert "Only a draft or a file under revision can be edited." in response.content.decode()
    assert GrantProject.objects.get(pk=project.pk).title == project.title
    response = agent_client.get(reverse("projects:edit", args=[project.pk]), follow=True)
    assert "Only a draft or a file under revision can be edited." in response.content.decode()


def upload(client, project, doc_type, content, name="scan.pdf"):
    return client.post(reverse("projects:upload", args=[project.pk]),
                       {"doc_type": doc_type, "file": SimpleUploadedFile(name, content, "application/pdf")})


def test_uploads_shrink_the_missing_list_then_the_draft_is_submitted(
    agent_client, cast, make_project, django_capture_on_commit_callbacks
):
    draft = make_project("draft")
    detail = reverse("projects:detail", args=[draft.pk])
    page = agent_client.get(detail).content.decode()
    assert page.count('class="tamkeen-missing-document"') == 3

    content = b"%PDF-1.4 copy of the CIN"
    response = upload(agent_client, draft, "cin_copy", content)
    assert response.status_code == 302 and response.url.startswith(detail)
    document = Document.objects.get(project=draft)
    digest = hashlib.sha256(content).hexdigest()
    assert (document.sha256, document.doc_type, document.uploaded_by_id) == (digest, "cin_copy", cast.agent.pk)
    page = agent_client.get(detail).content.decode()
    assert digest in page  # the full fingerprint (title) and the message
    assert page.count('class="tamkeen-missing-document"') == 2

    upload(agent_client, draft, "residence_certificate", b"%PDF-1.4 residence")
    upload(agent_client, draft, "business_plan", b"%PDF-1.4 plan")
    page = agent_client.get(detail).content.decode()
    assert 'class="tamkeen-missing-document"' not in page
    assert "Every required document is attached." in page

    with django_capture_on_commit_callbacks(execute=True):
        agent_client.post(reverse("projects:submit", args=[draft.pk]), {"confirm": "on"})
    assert GrantProject.objects.get(pk=draft.pk).state == "submitted"


def test_a_bad_upload_is_said_on_its_field_and_nothing_is_saved(agent_client, make_project, settings):
    draft = make_project("draft")
    page = agent_client.get(reverse("projects:upload", args=[draft.pk])).content.decode()
    assert page.count('class="tamkeen-missing-document"') == 3 and 'name="file"' in page
    attach_required_documents(draft, draft.created_by)
    before = Document.objects.count()
    response = upload(agent_client, draft, "not_a_type", b"%PDF-1.4 x")
    assert field_errors(response, "doc_type")
    same = Document.objects.filter(project=draft).first()
    response = upload(agent_client, draft, "other", same.file.open("rb").read())
    assert "This file is already attached to the project." in field_errors(response, "file")
    settings.TAMKEEN_MAX_DOCUMENT_BYTES = 8
    response = upload(agent_client, draft, "other", b"%PDF-1.4 too large")
    assert any("larger than" in e for e in field_errors(response, "file"))
    assert Document.objects.count() == before


def test_a_person_with_a_disability_needs_a_proof_among_the_documents(agent_client, program):
    response = agent_client.post(CREATE, application(program, is_woman_in_difficulty=None, gender="M",
                                                     has_disability="on", disability_proof="card"))
    assert response.status_code == 302
    project = GrantProject.objects.latest("pk")
    assert project.beneficiary.has_disability and project.beneficiary.disability_proof == "card"
    form = agent_client.get(reverse("projects:upload", args=[project.pk]))
    assert "disability card" in [str(label) for label in form.context["missing_documents"]]
    required = dict(form.context["form"].fields["doc_type"].choices)["Required for this application"]
    assert "disability_card" in dict(required)
    upload(agent_client, project, "medical_certificate", b"%PDF-1.4 certificate")
    form = agent_client.get(reverse("projects:upload", args=[project.pk]))
    assert "disability card" not in [str(label) for label in form.context["missing_documents"]]


def test_the_new_application_page_renders_in_arabic(client, cast, make_beneficiary):
    person = make_beneficiary()
    client.force_login(cast.agent)
    response = client.get(CREATE, {"find": person.last_name}, HTTP_ACCEPT_LANGUAGE="ar")
    assert response.status_code == 200 and f"?beneficiary={person.pk}" in response.content.decode()


def test_before_submitting_the_agent_sees_what_screening_would_refuse(agent_client, make_project, cast):
    # The program asks for 30 % of the cost from the beneficiary: 10,000 of 60,000 is too little.
    draft = make_project("draft", requested_amount="50000.00", own_contribution="10000.00")
    attach_required_documents(draft, cast.agent)
    page = agent_client.get(reverse("projects:detail", args=[draft.pk])).content.decode()
    assert "Screening will find this file ineligible" in page
    assert "The beneficiary&#x27;s contribution is below 30 % of the project cost." in page

    services.project_update(project_id=draft.pk, actor=cast.agent, own_contribution="25000.00")
    page = agent_client.get(reverse("projects:detail", args=[draft.pk])).content.decode()
    assert "Screening will find this file ineligible" not in page
    assert "Submit the application" in page


def test_the_intake_records_the_language_of_her_documents(agent_client, program):
    """Arabic unless the agent chooses French (issue 15): the letters and attestations
    handed to her are offered in that language first."""
    page = agent_client.get(CREATE).content.decode()
    assert 'name="document_language"' in page
    agent_client.post(CREATE, application(program))
    assert GrantProject.objects.latest("pk").beneficiary.document_language == "ar"
    agent_client.post(CREATE, application(program, cin="S765432", title="Épicerie", document_language="fr"))
    assert GrantProject.objects.latest("pk").beneficiary.document_language == "fr"
    before = counts()
    response = agent_client.post(CREATE, application(program, cin="S876543", document_language="en"))
    assert field_errors(response, "document_language") and counts() == before
