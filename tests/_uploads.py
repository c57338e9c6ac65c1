"""Small real files for the tests that upload: a PDF, JPEG and PNG that readers open
(each distinct by its text or colour, since a file refuses the same content twice), and
the refused kinds of the penetration test's finding."""

import io
import zipfile
from itertools import count

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

_shade = count(1)


def pdf_bytes(text="Tamkeen") -> bytes:
    """A one-page PDF showing ``text`` (ASCII), with a correct cross-reference table."""
    line = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)").encode("ascii", "replace")
    stream = b"BT /F1 12 Tf 20 50 Td (" + line + b") Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 100] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def _colour(shade):
    shade = next(_shade) if shade is None else shade
    return (shade * 37 % 256, shade * 91 % 256, shade * 53 % 256)


def jpeg_bytes(shade=None, *, size=(16, 8), exif=None, comment=None) -> bytes:
    """A plain-colour JPEG (a new colour each call unless ``shade`` is given), with the
    given ``Image.Exif`` and comment if any."""
    out = io.BytesIO()
    extra = {"exif": exif} if exif is not None else {}
    if comment is not None:
        extra["comment"] = comment
    Image.new("RGB", size, _colour(shade)).save(out, "JPEG", **extra)
    return out.getvalue()


def png_bytes(shade=None, *, size=(16, 8)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, _colour(shade)).save(out, "PNG")
    return out.getvalue()


def gps_exif(*, orientation=None) -> Image.Exif:
    """EXIF as a phone writes it: maker, model, GPS position (Nador), maybe an orientation."""
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0110] = "Model X"  # Model
    if orientation is not None:
        exif[0x0112] = orientation
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "N", (35.0, 10.0, 5.0)  # latitude
    gps[3], gps[4] = "W", (2.0, 55.0, 40.0)  # longitude
    return exif


def zip_bytes() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("cin.pdf", pdf_bytes("inside an archive"))
    return out.getvalue()


# An MS-DOS/Windows executable's start (the "MZ" header and its DOS stub message).
MZ_EXECUTABLE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 48 + (
    b"This program cannot be run in DOS mode.\r\r\n$" + b"\x00" * 64)
# A Linux executable's ELF header (64-bit, little-endian, x86-64).
ELF_EXECUTABLE = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 8 + b"\x02\x00\x3e\x00\x01\x00\x00\x00" + b"\x00" * 96
SVG_WITH_SCRIPT = (b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
                   b"<script>alert(document.cookie)</script><rect width='10' height='10'/></svg>")
HTML_PAGE = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"

# The finding's files, as (upload name, content, the content type the browser claims):
# each must be refused, whatever its name and claimed type.
REFUSED_UPLOADS = {
    "exe_renamed_pdf": ("cin.pdf", MZ_EXECUTABLE, "application/pdf"),
    "exe": ("setup.exe", MZ_EXECUTABLE, "application/x-msdownload"),
    "elf_renamed_jpg": ("atelier.jpg", ELF_EXECUTABLE, "image/jpeg"),
    "svg_with_script": ("logo.svg", SVG_WITH_SCRIPT, "image/svg+xml"),
    "svg_renamed_png": ("logo.png", SVG_WITH_SCRIPT, "image/png"),
    "html": ("page.html", HTML_PAGE, "text/html"),
    "zip": ("documents.zip", zip_bytes(), "application/zip"),
    "zip_renamed_pdf": ("plan.pdf", zip_bytes(), "application/pdf"),
    "text": ("notes.txt", b"plain text, no magic number\n", "text/plain"),
}


def refused_upload(which) -> SimpleUploadedFile:
    """One of ``REFUSED_UPLOADS`` as the browser sends it."""
    return SimpleUploadedFile(*REFUSED_UPLOADS[which])


def pdf_upload(text="Tamkeen", name="document.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, pdf_bytes(text), "application/pdf")


def jpeg_upload(shade=None, name="photo.jpg", **options) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, jpeg_bytes(shade, **options), "image/jpeg")


def png_upload(shade=None, name="photo.png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, png_bytes(shade), "image/png")
