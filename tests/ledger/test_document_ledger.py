"""Documents and edits on the file's audit chain.

Attaching a document and editing a draft keep the file's state but are acts an auditor
traces: each writes a signed entry (``attach_document`` with the document's type and
SHA-256, ``edit`` with the fields changed). The project page compares every stored
fingerprint with the one sealed in the ledger; the auditors' "verify now" re-reads the
files themselves.
"""

from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from core.exceptions import TamkeenError
from core.roles import Role
from ledger.evidence import verify_entity
from ledger.models import AuditEntry
from tests._uploads import pdf_bytes
from tests._web import as_user, html_of, unisolated
from workflow import services
from workflow.models import Document, GrantProject

pytestmark = pytest.mark.django_db


PLAN = pdf_bytes("business plan v2")


def _attach(project, actor, content=PLAN, doc_type="business_plan", name="Plan Nadia Bouazza.pdf"):
    return services.document_attach(project_id=project.pk, actor=actor, doc_type=doc_type,
                                    uploaded_file=SimpleUploadedFile(name, content))


def _entries(project):
    return list(AuditEntry.objects.for_entity(project).order_by("seq"))


def test_attaching_a_document_seals_its_fingerprint_on_the_files_chain(make_project, cast):
    project = make_project("eligible")
    before = _entries(project)

    document = _attach(project, cast.officer)

    after = _entries(project)
    assert after[: len(before)] == before and len(after) == len(before) + 1
    entry = after[-1]
    assert (entry.transition, entry.from_state, entry.to_state, entry.actor_id, entry.actor_role) == (
        "attach_document", "eligible", "eligible", cast.officer.pk, "program_officer")
    assert entry.payload == {"document": document.pk, "doc_type": "business_plan",
                             "sha256": document.sha256, "size": len(PLAN)}
    assert b"Nadia" not in bytes(entry.canonical)  # the file's name may carry personal data
    assert GrantProject.objects.get(pk=project.pk).state == "eligible"
    assert verify_entity(project).ok


def test_a_refused_attachment_writes_nothing(make_project, cast):
    project = make_project("draft")
    _attach(project, cast.agent)
    before = (_entries(project), Document.objects.filter(project=project).count())

    with pytest.raises(TamkeenError) as duplicate:
        _attach(project, cast.agent)  # the same content again
    assert duplicate.value.code == "invalid_input"
    assert (_entries(project), Document.objects.filter(project=project).count()) == before

    closed = make_project("rejected")
    before = (_entries(closed), Document.objects.filter(project=closed).count())
    with pytest.raises(TamkeenError) as terminal:
        _attach(closed, cast.officer)
    assert terminal.value.code == "transition_not_allowed"
    assert (_entries(closed), Document.objects.filter(project=closed).count()) == before


def test_editing_a_draft_is_on_its_chain_with_the_fields_changed(make_project, cast):
    project = make_project("draft")
    before = len(_entries(project))

    services.project_update(project_id=project.pk, actor=cast.agent, title="Atelier de couture Nadia",
                            requested_amount="42000.00")

    entries = _entries(project)
    assert len(entries) == before + 1
    entry = entries[-1]
    assert (entry.transition, entry.from_state, entry.to_state) == ("edit", "draft", "draft")
    assert entry.payload == {"changed": ["requested_amount", "title"], "requested_amount": "42000.00"}
    assert b"couture" not in bytes(entry.canonical)  # texts stay in the file
    assert GrantProject.objects.get(pk=project.pk).requested_amount == Decimal("42000.00")
    assert verify_entity(project).ok

    services.project_update(project_id=project.pk, actor=cast.agent)  # nothing to change
    assert len(_entries(project)) == before + 1


@pytest.fixture
def auditor(make_user):
    return make_user(Role.AUDITOR)


def _page(project, user):
    return html_of(as_user(Client(HTTP_ACCEPT_LANGUAGE="en"), user).get(
        reverse("projects:detail", args=[project.pk])))


def test_the_project_page_shows_each_document_sealed_and_the_acts_in_the_history(make_project, cast, auditor):
    project = make_project("draft")
    document = _attach(project, cast.agent)
    services.project_update(project_id=project.pk, actor=cast.agent, title="Atelier de couture")

    html = unisolated(_page(project, auditor))

    seq = AuditEntry.objects.for_entity(project).get(transition="attach_document",
                                                      payload__document=document.pk).seq
    assert f"sealed in entry {seq}" in html
    assert "document attached" in html and "file edited" in html
    assert "Changed: title" in html
    assert "differs from entry" not in html and "fingerprint differs" not in html


def test_a_fingerprint_changed_behind_the_ledger_is_shown(make_project, cast, auditor):
    project = make_project("draft")
    document = _attach(project, cast.agent)
    seq = AuditEntry.objects.for_entity(project).get(transition="attach_document",
                                                      payload__document=document.pk).seq
    Document.objects.filter(pk=document.pk).update(sha256="0" * 64)  # a row edited in the database

    html = unisolated(_page(project, auditor))

    assert f"differs from entry {seq}" in html
    assert "Warning: 1 document's fingerprint differs from the one sealed in the ledger" in html


def test_verify_now_rereads_the_files(make_project, cast, auditor, settings):
    project = make_project("draft")
    document = _attach(project, cast.agent)
    client = as_user(Client(HTTP_ACCEPT_LANGUAGE="en"), auditor)
    url = reverse("projects:verify", args=[project.pk])

    intact = html_of(client.post(url, follow=True))
    assert "Document NOT intact" not in intact

    with open(document.file.path, "wb") as handle:  # the stored file swapped on disk
        handle.write(b"another plan")
    swapped = html_of(client.post(url, follow=True))
    assert "Document NOT intact" in swapped and f"#{document.pk}" in swapped
    assert "no longer matches its recorded SHA-256" in swapped
