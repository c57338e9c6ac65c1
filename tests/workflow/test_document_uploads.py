"""Project documents accepted by their content (security issue, item 6).

The penetration test attached an executable renamed ``.pdf``, a plain ``.exe``, an SVG
with a script, an HTML page and a zip through ``/projects/<id>/documents/upload/``. Each
is now refused on the file field, and nothing is kept: no document row, no file on
disk, no ledger entry. PDF, JPEG and PNG are accepted; a photo is stored without its
metadata, fingerprinted (and sealed in the ledger) as stored; every document goes back
as a typed download.
"""

import hashlib
import io
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from core.exceptions import InvalidInput
from ledger.models import AuditEntry
from tests._uploads import (
    REFUSED_UPLOADS,
    gps_exif,
    jpeg_upload,
    pdf_upload,
    png_upload,
    refused_upload,
)
from tests._web import as_user
from workflow import selectors, services
from workflow.models import Document

pytestmark = pytest.mark.django_db


@pytest.fixture
def draft(make_project):
    return make_project("draft")


def post_upload(client, project, uploaded, doc_type="business_plan"):
    return client.post(reverse("projects:upload", args=[project.pk]), {"doc_type": doc_type, "file": uploaded})


def stored_files(settings):
    media = Path(settings.MEDIA_ROOT)
    return sorted(str(path.relative_to(media)) for path in media.rglob("*") if path.is_file())


def kept(project, settings):
    """What an upload could leave behind: rows, files, ledger entries."""
    return (list(Document.objects.filter(project=project).values_list("pk", flat=True)), stored_files(settings),
            AuditEntry.objects.for_entity(project).count())


@pytest.mark.parametrize("which", ["exe_renamed_pdf", "exe", "svg_with_script", "html", "zip",
                                   "zip_renamed_pdf", "svg_renamed_png", "elf_renamed_jpg"])
def test_each_file_of_the_finding_is_refused_on_its_field_and_nothing_is_kept(
    which, client, cast, draft, settings
):
    as_user(client, cast.agent)
    before = kept(draft, settings)

    response = post_upload(client, draft, refused_upload(which))

    assert response.status_code == 200
    form = response.context["form"]
    assert form.has_error("file", "file_type_not_allowed")
    assert form.errors["file"] == ["Only PDF, JPEG and PNG files are accepted, and this file is none of them."]
    assert "Only PDF, JPEG and PNG files are accepted" in response.content.decode()
    assert kept(draft, settings) == before


def test_the_service_refuses_them_too_with_a_code(cast, draft, settings):
    # A command or a task calls the service, not the page.
    before = kept(draft, settings)
    for which in sorted(REFUSED_UPLOADS):
        with pytest.raises(InvalidInput) as caught:
            services.document_attach(project_id=draft.pk, actor=cast.agent, doc_type="other",
                                     uploaded_file=refused_upload(which))
        assert (caught.value.code, list(caught.value.field_errors)) == ("file_type_not_allowed", ["file"]), which
    assert kept(draft, settings) == before


def test_a_damaged_image_is_refused_and_nothing_is_kept(client, cast, draft, settings):
    as_user(client, cast.agent)
    before = kept(draft, settings)
    response = post_upload(client, draft, SimpleUploadedFile("cin.jpg", b"\xff\xd8\xff\xe0 no pixels", "image/jpeg"))
    assert response.context["form"].has_error("file", "image_unreadable")
    assert kept(draft, settings) == before


@pytest.mark.parametrize(("uploaded", "stored_as", "media_type"), [
    (lambda: pdf_upload("business plan", name="plan.pdf"), "plan.pdf", "application/pdf"),
    (lambda: jpeg_upload(name="plan.jpeg"), "plan.jpg", "image/jpeg"),
    (lambda: png_upload(name="plan.png"), "plan.png", "image/png"),
    (lambda: pdf_upload("scanned", name="plan.jpg"), "plan.pdf", "application/pdf"),  # named as a photo
], ids=["pdf", "jpeg", "png", "pdf-named-jpg"])
def test_pdf_jpeg_and_png_are_attached_sealed_as_stored_and_downloaded_typed(
    uploaded, stored_as, media_type, client, cast, draft, settings
):
    as_user(client, cast.agent)
    response = post_upload(client, draft, uploaded())
    assert response.status_code == 302

    document = Document.objects.get(project=draft)
    with document.file.open("rb") as handle:
        stored = handle.read()
    # The fingerprint, on the row and in the ledger, is of the bytes on disk.
    assert document.sha256 == hashlib.sha256(stored).hexdigest() and document.size == len(stored)
    entry = AuditEntry.objects.for_entity(draft).get(transition="attach_document")
    assert (entry.payload["sha256"], entry.payload["size"]) == (document.sha256, len(stored))
    assert selectors.document_file_problems(draft) == []
    assert document.original_name == stored_as and document.file.name.endswith(stored_as)

    download = as_user(client, cast.officer).get(reverse("projects:document", args=[draft.pk, document.pk]))
    assert download.status_code == 200
    assert download["Content-Type"] == media_type
    assert download["Content-Disposition"] == f'attachment; filename="{stored_as}"'
    assert download["X-Content-Type-Options"] == "nosniff"
    assert download["Cache-Control"] == "no-store"
    assert b"".join(download.streaming_content) == stored


def test_a_photo_is_stored_without_its_gps_position(client, cast, draft):
    as_user(client, cast.agent)
    photo = jpeg_upload(name="cin.jpg", exif=gps_exif(orientation=6))
    assert b"PhoneMaker" in photo.read()
    photo.seek(0)

    assert post_upload(client, draft, photo, doc_type="cin_copy").status_code == 302

    document = Document.objects.get(project=draft)
    with document.file.open("rb") as handle:
        stored = handle.read()
    image = Image.open(io.BytesIO(stored))
    assert not image.getexif() and "exif" not in image.info
    assert b"PhoneMaker" not in stored and b"Model X" not in stored
    assert image.size == (8, 16)  # turned upright as the camera said, before its EXIF went


def test_the_same_photo_twice_is_recognised_after_re_encoding(cast, draft):
    photo = jpeg_upload(shade=200, exif=gps_exif())
    services.document_attach(project_id=draft.pk, actor=cast.agent, doc_type="photo", uploaded_file=photo)
    with pytest.raises(InvalidInput) as caught:
        services.document_attach(project_id=draft.pk, actor=cast.agent, doc_type="other",
                                 uploaded_file=jpeg_upload(shade=200, name="again.jpg", exif=gps_exif()))
    assert caught.value.field_errors == {"file": ["This file is already attached to the project."]}


def test_a_document_stored_before_the_checks_goes_as_opaque_bytes(client, cast, draft):
    document = services.document_attach(project_id=draft.pk, actor=cast.agent, doc_type="other",
                                        uploaded_file=pdf_upload("old"))
    with open(document.file.path, "wb") as handle:  # as an unchecked upload of old would be
        handle.write(b"<html><script>alert(1)</script></html>")

    download = as_user(client, cast.officer).get(reverse("projects:document", args=[draft.pk, document.pk]))

    assert download["Content-Type"] == "application/octet-stream"
    assert download["Content-Disposition"].startswith("attachment;")
    assert download["X-Content-Type-Options"] == "nosniff"


def test_the_upload_form_says_what_is_accepted(client, cast, draft):
    html = as_user(client, cast.agent).get(reverse("projects:upload", args=[draft.pk])).content.decode()
    assert 'accept="application/pdf,image/jpeg,image/png"' in html
    assert "A PDF, JPEG or PNG file of at most 10 MB" in html
