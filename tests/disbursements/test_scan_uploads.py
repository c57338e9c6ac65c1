"""Scans of the procurement, accepted by their content like every upload (security
issue, item 6): the signed receipt report (stored, an image re-encoded without its
metadata) and a quote's scan (only fingerprinted, of the bytes as uploaded)."""

import hashlib
import io
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from disbursements import services as funding
from disbursements.models import Quote, ReceiptReport
from ledger.models import AuditEntry
from tests._uploads import gps_exif, jpeg_bytes, jpeg_upload, refused_upload
from tests._web import as_user

pytestmark = pytest.mark.django_db


def url(name, *args):
    return reverse(f"funding:{name}", args=args)


@pytest.fixture
def delivered(make_project, make_order):
    return make_order(make_project("funding", amount="60000.00"), "delivered")


def kept(settings):
    media = Path(settings.MEDIA_ROOT)
    return (list(ReceiptReport.objects.filter(scan_sha256__gt="").values_list("pk", flat=True)),
            Quote.objects.count(), AuditEntry.objects.count(),
            sorted(str(path) for path in media.rglob("*") if path.is_file()))


@pytest.mark.parametrize("which", ["exe_renamed_pdf", "svg_with_script", "html", "zip_renamed_pdf"])
def test_a_receipt_scan_that_is_no_pdf_jpeg_or_png_is_refused_on_its_field(which, client, cast, delivered, settings):
    as_user(client, cast.mentor)
    before = kept(settings)

    response = client.post(url("receipt_scan", delivered.pk), {"scan": refused_upload(which)})

    assert response.status_code == 200
    assert response.context["form"].has_error("scan", "file_type_not_allowed")
    assert kept(settings) == before


def test_a_receipt_photographed_is_stored_without_its_metadata_and_sealed_as_stored(cast, delivered):
    receipt = funding.receipt_attach_scan(order_id=delivered.pk, actor=cast.mentor,
                                          uploaded_file=jpeg_upload(name="pv.jpeg", exif=gps_exif()))

    with receipt.scan.open("rb") as handle:
        stored = handle.read()
    assert not Image.open(io.BytesIO(stored)).getexif() and b"PhoneMaker" not in stored
    assert receipt.scan.name.endswith("pv.jpg")
    assert receipt.scan_sha256 == hashlib.sha256(stored).hexdigest()
    entry = AuditEntry.objects.for_entity(delivered).get(transition="attach_receipt_scan")
    assert entry.payload == {"sha256": receipt.scan_sha256}


def test_a_quote_scan_must_be_a_pdf_jpeg_or_png_and_is_fingerprinted_as_uploaded(client, cast, make_project):
    order = funding.purchase_order_create(project_id=make_project("funding", amount="60000.00").pk,
                                          actor=cast.finance, description="Machines")
    supplier = funding.supplier_create(actor=cast.finance, name="Atlas Couture")
    as_user(client, cast.finance)
    quote = {"supplier": supplier.pk, "amount": "52 500,00", "reference": "DEV-1"}

    response = client.post(url("quote_add", order.pk), {**quote, "scan": refused_upload("exe_renamed_pdf")})
    assert response.status_code == 200
    assert response.context["form"].has_error("scan", "file_type_not_allowed")
    assert not Quote.objects.filter(order=order).exists()

    # Nothing of it is stored: its fingerprint is of the bytes the finance officer holds.
    photo = jpeg_bytes(exif=gps_exif())
    response = client.post(url("quote_add", order.pk),
                           {**quote, "scan": SimpleUploadedFile("devis.jpg", photo, "image/jpeg")})
    assert response.status_code == 302
    assert Quote.objects.get(order=order, supplier=supplier).document_sha256 == hashlib.sha256(photo).hexdigest()
