"""The project page (issue 7): summary, beneficiary with personal data only for the roles
that handle it, documents and their download, the audit timeline with its verification
status, the lifecycle diagram."""

import re

import pytest
from django.test import Client
from django.urls import NoReverseMatch, reverse

from core.roles import Role
from ledger.models import AuditEntry, StoredVerification
from ledger.selectors import entity_verification
from ledger.services import chain_verify
from tests._audit_support import (
    append_forged,
    fresh_unregistered_key,
    integrate_settled,
)
from tests._web import unisolated
from workflow.diagram import machine
from workflow.models import Document, DocumentType, ProjectState

pytestmark = pytest.mark.django_db


def page(client, user, project):
    client.force_login(user)
    response = client.get(reverse("projects:detail", args=[project.pk]))
    assert response.status_code == 200
    return response.content.decode()


def node_classes(html, state):
    match = re.search(rf'<g class="([^"]*)" data-state="{state}"', html)
    assert match, f"no diagram node for {state}"
    return match[1].split()


@pytest.fixture
def approved(make_project, make_beneficiary):
    beneficiary = make_beneficiary(cin="ZT998877", phone="0698765432", address="12 rue Al Massira, Nador")
    return make_project("approved", beneficiary=beneficiary)


# --- Summary and beneficiary ---------------------------------------------------------


def test_summary_shows_reference_program_state_and_amounts(client, cast, approved):
    html = page(client, cast.officer, approved)
    for text in (approved.reference, approved.title, str(approved.program), str(approved.sector),
                 "Nador", "approved"):
        assert text in html
    # Amounts in MAD, in the locale's format (English: grouped thousands).
    assert "60,000.00" in html and "30,000.00" in html


@pytest.mark.parametrize("role", [Role.PROGRAM_OFFICER, Role.ASSOCIATION_AGENT, Role.AUDITOR, Role.ADMIN])
def test_roles_handling_the_file_see_the_personal_data(client, make_user, approved, role):
    html = page(client, make_user(role), approved)
    assert "ZT998877" in html
    assert "+212698765432" in html or "0698765432" in html
    assert "12 rue Al Massira" in html
    assert "restricted to the roles" not in html


@pytest.mark.parametrize("role", [Role.TRAINER, Role.COMMITTEE_MEMBER, Role.MENTOR, Role.TREASURER])
def test_other_roles_see_the_name_and_category_only(client, make_user, approved, role):
    html = page(client, make_user(role), approved)
    assert approved.beneficiary.last_name in html
    assert "woman in a difficult situation" in html
    assert "ZT998877" not in html
    assert "698765432" not in html
    assert "rue Al Massira" not in html
    assert "restricted to the roles" in html


def test_disability_is_health_data(client, make_user, make_project, make_beneficiary):
    beneficiary = make_beneficiary(is_woman_in_difficulty=False, has_disability=True, disability_proof="card")
    project = make_project("submitted", beneficiary=beneficiary)
    officer_html = page(client, make_user(Role.PROGRAM_OFFICER), project)
    assert "person with a disability" in officer_html and "national disability card" in officer_html
    trainer_html = page(client, make_user(Role.TRAINER), project)
    assert "national disability card" not in trainer_html
    assert "person with a disability" not in trainer_html


# --- Documents -----------------------------------------------------------------------


def test_documents_are_listed_with_their_fingerprint(client, cast, approved):
    html = page(client, cast.officer, approved)
    documents = list(Document.objects.filter(project=approved))
    assert documents
    for document in documents:
        assert document.sha256[:16] in html
        assert reverse("projects:document", args=[approved.pk, document.pk]) in html


def test_download_is_access_controlled(client, make_user, approved):
    cin_copy = Document.objects.get(project=approved, doc_type=DocumentType.CIN_COPY)
    plan = Document.objects.filter(project=approved).exclude(doc_type__in=[DocumentType.CIN_COPY]).first()
    officer, member = make_user(Role.PROGRAM_OFFICER), make_user(Role.COMMITTEE_MEMBER)

    client.force_login(officer)
    response = client.get(reverse("projects:document", args=[approved.pk, cin_copy.pk]))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == cin_copy.file.open("rb").read()
    assert cin_copy.original_name in response["Content-Disposition"]

    client.force_login(member)
    html = client.get(reverse("projects:detail", args=[approved.pk])).content.decode()
    assert reverse("projects:document", args=[approved.pk, cin_copy.pk]) not in html
    assert client.get(reverse("projects:document", args=[approved.pk, cin_copy.pk])).status_code == 403
    assert client.get(reverse("projects:document", args=[approved.pk, plan.pk])).status_code == 200
    # A document of another project through this project's address: not found.
    client.force_login(officer)
    assert client.get(reverse("projects:document", args=[approved.pk + 1000, plan.pk])).status_code == 404


def test_download_needs_login(client, approved):
    document = Document.objects.filter(project=approved).first()
    response = client.get(reverse("projects:document", args=[approved.pk, document.pk]))
    assert response.status_code == 302 and "login" in response["Location"]


# --- Timeline and verification -------------------------------------------------------


def test_timeline_has_one_row_per_audit_entry(client, cast, approved):
    html = page(client, cast.officer, approved)
    entries = AuditEntry.objects.for_entity(approved).count()
    assert entries == 8  # create, three documents, submit, screen_ok, schedule, decide_approve
    assert html.count('class="tamkeen-timeline-entry') == entries
    for text in ("found eligible", "approved by the committee", "program officer", "committee chair"):
        assert text in html


def test_an_intact_chain_never_verified_whole_says_so_and_checks_the_entries_shown(client, cast, approved):
    html = page(client, cast.officer, approved)
    assert "The whole chain has not been verified yet" in html
    assert "The 8 entries shown were checked now: hashes, links and signatures." in html
    assert "Chain verified." not in html
    assert "No entry is in a signed checkpoint yet." in html
    assert "NOT intact" not in html


def test_intact_chain_says_verified_once_verified_whole(client, cast, approved, make_user):
    auditor = make_user(Role.AUDITOR, username="auditrice")
    chain_verify(approved, actor=auditor)
    html = page(client, cast.officer, approved)
    assert "Chain verified." in html
    assert "8 signed entries verified" in html
    assert "by auditrice" in html
    assert "No entry is in a signed checkpoint yet." in html
    assert "NOT intact" not in html
    assert "not yet verified" not in html


def test_forged_entry_shows_the_tampered_warning(client, cast, approved):
    key, key_id = fresh_unregistered_key()
    forged = append_forged(approved.pk, transition="enrol", to_state="in_training", private_key=key, key_id=key_id)
    html = page(client, cast.officer, approved)
    assert "Chain verified." not in html
    assert "this audit chain is NOT intact" in html
    row = re.search(rf'<tr class="([^"]*)">\s*<td data-entry="{forged.pk}">', html)
    assert row and "tamkeen-timeline-entry--bad" in row[1]
    assert "signed by unknown key" in html
    # What the page shows comes from the ledger's verification, located by fields.
    verification = entity_verification(approved)
    assert not verification.ok
    assert [(p.code, p.entry_id, p.seq) for p in verification.by_entry[forged.pk]] == [
        ("unknown_key", forged.pk, forged.seq)]
    assert verification.messages_for(forged.pk) == [f"signed by unknown key {key_id!r}"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("reference_data")
def test_entries_in_a_signed_checkpoint_say_so(client, cast, make_project):
    project = make_project("eligible")  # create, three documents, submit, screen_ok
    result = integrate_settled(force_checkpoint=True)
    assert result.checkpoint is not None
    chain_verify(project, source=StoredVerification.Source.SCHEDULED)
    html = unisolated(page(client, cast.officer, project))
    assert "by the scheduled verification" in html and "Anchored in the signed checkpoint of" in html
    assert "Chain verified." in html
    assert html.count(f"anchored in signed checkpoint {result.checkpoint.pk} of") == 6
    assert "6 entries anchored, the latest in signed checkpoint" in html


# --- Lifecycle diagram ---------------------------------------------------------------


def test_diagram_highlights_the_current_state_and_marks_the_passed_ones(client, cast, approved):
    html = page(client, cast.officer, approved)
    assert 'role="img"' in html and "Project lifecycle — current state: approved" in html
    assert "lc-node--current" in node_classes(html, "approved")
    assert html.count("lc-node--current") == 1 + html.count(".lc-node--current")
    for passed in ("draft", "submitted", "eligible", "in_committee"):
        assert "lc-node--visited" in node_classes(html, passed)
    for ahead in ("in_training", "closed", "rejected"):
        classes = node_classes(html, ahead)
        assert "lc-node--visited" not in classes and "lc-node--current" not in classes


def test_diagram_shows_every_state_and_transition(client, cast, approved):
    html = page(client, cast.officer, approved)
    for state in ProjectState.values:
        node_classes(html, state)
        assert f'<li data-state="{state}">' in html  # the text alternative
    for transition in machine().transitions:
        assert f'data-transition="{transition.name}"' in html


def test_diagram_in_arabic_is_mirrored_and_translated(cast, approved):
    client = Client(HTTP_ACCEPT_LANGUAGE="ar")
    client.force_login(cast.officer)
    html = client.get(reverse("projects:detail", args=[approved.pk])).content.decode()
    assert 'dir="rtl"' in html and 'data-rtl="1"' in html
    draft = re.search(r'data-state="draft"[^>]*>\s*<title>[^<]*</title>\s*<rect x="(\d+)"', html)
    ineligible = re.search(r'data-state="ineligible"[^>]*>\s*<title>[^<]*</title>\s*<rect x="(\d+)"', html)
    # Right to left: the main path is on the right, the side states on its left.
    assert int(draft[1]) > int(ineligible[1])


# --- Decision letter -----------------------------------------------------------------


def test_decision_letter_link_for_decided_projects_only(client, cast, approved, make_project):
    try:
        url = reverse("projects:decision_letter", args=[approved.pk])
    except NoReverseMatch:
        pytest.skip("the site serves no decision letter")
    assert url in page(client, cast.officer, approved)
    draft = make_project("eligible")
    assert "decision-letter" not in page(client, cast.officer, draft)
