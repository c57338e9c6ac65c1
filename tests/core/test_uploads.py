"""Uploads accepted by their content (core.uploads) and sent back as typed downloads
(core.downloads), without the database: the apps' tests check the same through their
screens and services."""

import hashlib
import io
import struct
import zlib

import pypdf
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from core.downloads import file_download
from core.exceptions import InvalidInput
from core.uploads import JPEG, PDF, PNG, accept_upload, check_upload, file_kind, stored_name
from tests._uploads import (
    REFUSED_UPLOADS,
    gps_exif,
    jpeg_bytes,
    pdf_bytes,
    png_bytes,
    refused_upload,
)


def refused(uploaded, code):
    with pytest.raises(InvalidInput) as caught:
        accept_upload(uploaded, field="file")
    assert caught.value.code == code
    assert list(caught.value.field_errors) == ["file"] and caught.value.field_errors["file"][0]
    return caught.value.field_errors["file"][0]


@pytest.mark.parametrize("which", sorted(REFUSED_UPLOADS))
def test_every_file_of_the_finding_is_refused_whatever_its_name(which):
    message = refused(refused_upload(which), "file_type_not_allowed")
    assert message == "Only PDF, JPEG and PNG files are accepted, and this file is none of them."


@pytest.mark.parametrize("content", [
    b"GIF89a\x01\x00\x01\x00",  # an image, but not one of the three
    b"PK\x05\x06" + b"\x00" * 18,  # an empty zip
    b"\xef\xbb\xbf%PDF-1.4",  # a PDF header behind a byte-order mark
    b" %PDF-1.4",
    b"%PDF",  # too short to be a PDF header
    b"\xff\xd8",  # half a JPEG marker
    b"\x89PNG\r\n",  # a truncated PNG signature
], ids=["gif", "empty-zip", "bom-pdf", "space-pdf", "short-pdf", "short-jpeg", "short-png"])
def test_only_the_exact_magic_numbers_count(content):
    refused(SimpleUploadedFile("scan.pdf", content, "application/pdf"), "file_type_not_allowed")


@pytest.mark.parametrize(("name", "content", "kind"), [
    ("plan.pdf", pdf_bytes("plan"), PDF),
    ("photo.jpg", jpeg_bytes(1), JPEG),
    ("photo.png", png_bytes(1), PNG),
])
def test_pdf_jpeg_and_png_are_accepted_by_their_first_bytes(name, content, kind):
    accepted = accept_upload(SimpleUploadedFile(name, content, "application/octet-stream"), field="file")
    assert (accepted.kind, accepted.name) == (kind, name)
    assert accepted.size == len(accepted.content)
    assert file_kind(accepted.content) is kind


def test_the_pdf_of_the_tests_is_one_readers_open():
    reader = pypdf.PdfReader(io.BytesIO(pdf_bytes("Atelier (Nador)")), strict=True)
    assert reader.pages[0].extract_text() == "Atelier (Nador)"


def test_a_pdf_is_stored_as_uploaded_with_its_fingerprint():
    content = pdf_bytes("business plan")
    accepted = accept_upload(SimpleUploadedFile("plan.pdf", content), field="file")
    assert accepted.content == content
    assert accepted.sha256 == hashlib.sha256(content).hexdigest()
    assert accepted.as_file().read() == content and accepted.as_file().name == "plan.pdf"


@pytest.mark.parametrize(("name", "content", "stored"), [
    ("scan.jpg", pdf_bytes(), "scan.pdf"),  # a PDF named as a photo is stored as a PDF
    ("photo.pdf", jpeg_bytes(2), "photo.jpg"),
    ("IMG_0042.JPEG", jpeg_bytes(3), "IMG_0042.jpg"),
    ("capture", png_bytes(2), "capture.png"),
    ("../../etc/cin.png.exe", png_bytes(3), "cin.png.png"),  # no folders, no foreign extension
    (".pdf", pdf_bytes(), "file.pdf"),
])
def test_the_stored_name_carries_the_extension_of_the_detected_kind(name, content, stored):
    assert accept_upload(SimpleUploadedFile(name, content), field="file").name == stored


def test_a_long_name_is_shortened_keeping_its_extension():
    name = stored_name("x" * 300 + ".pdf", PDF)
    assert len(name) <= 255 and name.endswith(".pdf")


def test_an_empty_or_oversized_file_is_refused_with_its_code(settings):
    assert refused(SimpleUploadedFile("empty.pdf", b""), "file_empty") == "The file is empty."
    settings.TAMKEEN_MAX_DOCUMENT_BYTES = 2 * 2**20
    large = SimpleUploadedFile("big.pdf", b"%PDF-1.4" + b"\x00" * (2 * 2**20))
    assert refused(large, "file_too_large") == "The file is larger than 2 MB."
    with pytest.raises(InvalidInput) as caught:
        accept_upload(None, field="scan")
    assert (caught.value.code, list(caught.value.field_errors)) == ("file_empty", ["scan"])


# --- images: decoded, within their size, re-encoded ----------------------------------


def test_the_gps_position_and_every_other_metadata_are_removed_from_a_photo():
    original = jpeg_bytes(4, exif=gps_exif(), comment=b"taken at Beni Ensar")
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(0x8825)  # the phone's position is there
    assert b"PhoneMaker" in original and b"Beni Ensar" in original

    stored = accept_upload(SimpleUploadedFile("atelier.jpg", original), field="attachment").content

    image = Image.open(io.BytesIO(stored))
    assert image.format == "JPEG" and image.size == (16, 8)
    assert not image.getexif() and not image.getexif().get_ifd(0x8825)
    assert "exif" not in image.info and "comment" not in image.info and "xmp" not in image.info
    assert b"PhoneMaker" not in stored and b"Beni Ensar" not in stored and b"Exif" not in stored


def test_the_orientation_is_applied_before_the_exif_is_dropped():
    # Orientation 6: the camera was turned; viewers rotate the 16×8 picture to 8×16.
    original = jpeg_bytes(5, size=(16, 8), exif=gps_exif(orientation=6))
    stored = accept_upload(SimpleUploadedFile("p.jpg", original), field="file").content
    assert Image.open(io.BytesIO(stored)).size == (8, 16)


def test_a_png_loses_its_text_chunks_and_keeps_its_transparency():
    text = PngInfo()
    text.add_text("Comment", "GPS 35.16N 2.92W")
    picture = Image.new("P", (4, 4), 1)
    picture.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    out = io.BytesIO()
    picture.save(out, "PNG", pnginfo=text, transparency=0)

    stored = accept_upload(SimpleUploadedFile("p.png", out.getvalue()), field="file").content

    assert b"GPS" not in stored
    image = Image.open(io.BytesIO(stored))
    assert image.info == {"transparency": 0} and image.mode == "P"


def test_the_same_image_is_re_encoded_to_the_same_bytes():
    # So the same photo uploaded twice is recognised as already attached.
    content = jpeg_bytes(6, exif=gps_exif())
    first = accept_upload(SimpleUploadedFile("a.jpg", content), field="file")
    second = accept_upload(SimpleUploadedFile("b.jpg", content), field="file")
    assert first.sha256 == second.sha256


@pytest.mark.parametrize(("name", "content"), [
    ("fake.jpg", b"\xff\xd8\xff\xe0 not really a jpeg"),
    ("cut.jpg", jpeg_bytes(7)[:200]),  # truncated in the middle of its pixels
    ("fake.png", b"\x89PNG\r\n\x1a\n" + b"<script>alert(1)</script>"),
    ("cut.png", png_bytes(4)[:40]),
])
def test_an_image_that_does_not_decode_is_refused(name, content):
    message = refused(SimpleUploadedFile(name, content), "image_unreadable")
    assert message == "The image is damaged or incomplete and cannot be read."


def png_header(width, height) -> bytes:
    """A PNG that announces ``width`` × ``height`` pixels in a few bytes: a decompression bomb."""
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1 bit per pixel, grey
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")


def test_a_decompression_bomb_is_refused_before_it_is_decoded(settings):
    # 900 million pixels announced in under a hundred bytes: past Pillow's own ceiling.
    bomb = png_header(30_000, 30_000)
    assert len(bomb) < 100
    message = refused(SimpleUploadedFile("bomb.png", bomb), "image_too_large")
    assert message == "The image is too large: at most 50 megapixels."
    # Under Pillow's ceiling, over ours.
    settings.TAMKEEN_MAX_IMAGE_PIXELS = 100
    refused(SimpleUploadedFile("big.png", png_bytes(5, size=(11, 10))), "image_too_large")
    assert accept_upload(SimpleUploadedFile("ok.png", png_bytes(5, size=(10, 10))), field="file")


def test_a_fingerprinted_only_file_is_checked_the_same_and_left_as_uploaded():
    content = jpeg_bytes(8, exif=gps_exif())
    uploaded = SimpleUploadedFile("devis.jpg", content)
    assert check_upload(uploaded, field="scan") is JPEG
    assert uploaded.read() == content  # nothing re-encoded, the file back at its start
    with pytest.raises(InvalidInput) as caught:
        check_upload(refused_upload("exe_renamed_pdf"), field="scan")
    assert (caught.value.code, list(caught.value.field_errors)) == ("file_type_not_allowed", ["scan"])


# --- downloads -------------------------------------------------------------------------


@pytest.mark.parametrize(("content", "name", "media_type", "filename"), [
    (pdf_bytes(), "plan.pdf", "application/pdf", "plan.pdf"),
    (jpeg_bytes(9), "atelier.jpg", "image/jpeg", "atelier.jpg"),
    (png_bytes(9), "capture.png", "image/png", "capture.png"),
    (pdf_bytes(), "renamed.jpg", "application/pdf", "renamed.pdf"),
    # A file stored before uploads were checked: sent, but as opaque bytes.
    (b"<html><script>alert(1)</script></html>", "old.html", "application/octet-stream", "old.html"),
])
def test_a_stored_file_goes_as_a_typed_download_never_as_a_page(content, name, media_type, filename):
    response = file_download(io.BytesIO(content), filename=name)
    assert response["Content-Type"] == media_type
    assert response["Content-Disposition"] == f'attachment; filename="{filename}"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cache-Control"] == "no-store"
    assert b"".join(response.streaming_content) == content
