"""A visit report's photo or document, accepted by its content (security issue, item 6).

The penetration test attached an executable named ``.jpg`` as a visit photo. It is now
refused on the attachment field with nothing kept; a real photo is stored without its
EXIF — the GPS position of the beneficiary's workshop first — and goes back as a typed
download.
"""

import hashlib
import io
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from core.exceptions import InvalidInput
from demo.scenarios import STABLE_VISIT
from followup import services as followup_services
from followup.models import FollowUpVisit, VisitReport
from ledger.models import AuditEntry
from tests._uploads import gps_exif, jpeg_upload, pdf_upload, refused_upload
from tests._web import as_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def visit(make_project):
    project = make_project("launched")
    return FollowUpVisit.objects.filter(project=project).order_by("sequence").first()


def report(visit, actor, **overrides):
    return followup_services.visit_report(visit_id=visit.pk, actor=actor,
                                          **{"visited_on": timezone.localdate(), **STABLE_VISIT, **overrides})


def kept(settings):
    media = Path(settings.MEDIA_ROOT)
    return (VisitReport.objects.count(), AuditEntry.objects.count(),
            sorted(str(path) for path in media.rglob("*") if path.is_file()))


GOOD_POST = {
    "activity_running": "yes", "monthly_revenue": "4 800,00", "monthly_profit": "1500", "jobs_created": "1",
    "equipment_present": "yes", "equipment_in_use": "yes", "legal_status": "auto_entrepreneur",
    "sales_channels": ["souk"], "income_control": "beneficiary", "debts": "0", "recommendation": "continue",
}


def post_report(client, visit, **overrides):
    return client.post(reverse("followup:report", args=[visit.pk]),
                       {**GOOD_POST, "visited_on": timezone.localdate().isoformat(), **overrides})


@pytest.mark.parametrize("which", ["elf_renamed_jpg", "exe_renamed_pdf", "svg_renamed_png", "html", "zip"])
def test_an_executable_or_page_as_a_visit_photo_is_refused_on_its_field(which, client, cast, visit, settings):
    as_user(client, cast.mentor)
    before = kept(settings)

    response = post_report(client, visit, attachment=refused_upload(which))

    assert response.status_code == 200
    form = response.context["form"]
    assert form.has_error("attachment", "file_type_not_allowed")
    assert list(form.errors) == ["attachment"]
    assert kept(settings) == before
    assert FollowUpVisit.objects.get(pk=visit.pk).state == "planned"


def test_the_service_refuses_it_with_its_code_or_with_the_other_bad_fields(cast, visit, settings):
    before = kept(settings)
    with pytest.raises(InvalidInput) as caught:
        report(visit, cast.mentor, attachment=refused_upload("elf_renamed_jpg"))
    assert (caught.value.code, list(caught.value.field_errors)) == ("file_type_not_allowed", ["attachment"])
    # With other bad fields, every error is said at once, as invalid input.
    with pytest.raises(InvalidInput) as caught:
        report(visit, cast.mentor, monthly_revenue="-1", attachment=refused_upload("elf_renamed_jpg"))
    assert caught.value.code == "invalid_input"
    assert set(caught.value.field_errors) == {"monthly_revenue", "attachment"}
    assert kept(settings) == before


def test_a_visit_photo_is_stored_without_its_gps_position_and_sealed_as_stored(cast, visit):
    photo = jpeg_upload(name="atelier.jpeg", exif=gps_exif())
    assert Image.open(photo).getexif().get_ifd(0x8825)
    photo.seek(0)

    saved = report(visit, cast.mentor, attachment=photo)

    with saved.attachment.open("rb") as handle:
        stored = handle.read()
    image = Image.open(io.BytesIO(stored))
    assert image.format == "JPEG" and not image.getexif() and "exif" not in image.info
    assert b"PhoneMaker" not in stored
    assert saved.attachment_name == "atelier.jpg" and saved.attachment.name.endswith("atelier.jpg")
    assert saved.attachment_sha256 == hashlib.sha256(stored).hexdigest()
    entry = AuditEntry.objects.for_entity(saved.visit).get(transition="report_visit")
    assert entry.payload["attachment_sha256"] == saved.attachment_sha256


@pytest.mark.parametrize(("uploaded", "media_type", "filename"), [
    (lambda: jpeg_upload(name="atelier.jpg", exif=gps_exif()), "image/jpeg", "atelier.jpg"),
    (lambda: pdf_upload("visit", name="compte-rendu.pdf"), "application/pdf", "compte-rendu.pdf"),
], ids=["photo", "pdf"])
def test_the_attachment_goes_back_as_a_typed_download(uploaded, media_type, filename, client, cast, visit):
    as_user(client, cast.mentor)
    assert post_report(client, visit, attachment=uploaded()).status_code == 302

    response = as_user(client, cast.officer).get(reverse("followup:attachment", args=[visit.pk]))

    assert response.status_code == 200
    assert response["Content-Type"] == media_type
    assert response["Content-Disposition"] == f'attachment; filename="{filename}"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cache-Control"] == "no-store"
    report = VisitReport.objects.get(visit=visit)
    with report.attachment.open("rb") as handle:
        assert b"".join(response.streaming_content) == handle.read()
