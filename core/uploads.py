"""Uploaded files, accepted by what they contain, never by their name.

A file's type is read from its first bytes (its magic number): the name and the
content type the browser sends are the uploader's word and prove nothing (an
executable renamed ``cin.pdf`` is still an executable). Three kinds are accepted —
PDF, JPEG and PNG — and everything else is refused: archives (zip, and the office
formats built on it), executables, SVG, HTML, text.

An accepted image must decode completely, within ``TAMKEEN_MAX_IMAGE_PIXELS`` (a
small file may announce a huge picture: a decompression bomb), and is re-encoded:
the pixels are kept, with the EXIF orientation applied, and nothing else — no EXIF
(a phone's GPS position, its serial number), no XMP, no comments, no trailing bytes.
Only the colour profile is carried over, so colours do not change. PDFs are kept as
uploaded. What is stored (and fingerprinted) is the ``AcceptedFile``'s content, under
the given name with the extension of its detected kind: a PDF uploaded as
``scan.jpg`` is stored as ``scan.pdf``.
"""

import hashlib
import io
from dataclasses import dataclass

from django.conf import settings
from django.core.files.base import ContentFile
from django.utils.translation import gettext as _
from PIL import Image, ImageOps

from core.exceptions import InvalidInput


@dataclass(frozen=True)
class FileKind:
    code: str
    media_type: str
    extension: str
    magic: bytes
    # The Pillow format that decodes and re-encodes it; None for a kind kept as uploaded.
    image_format: str | None = None


PDF = FileKind("pdf", "application/pdf", ".pdf", b"%PDF-")
JPEG = FileKind("jpeg", "image/jpeg", ".jpg", b"\xff\xd8\xff", "JPEG")
PNG = FileKind("png", "image/png", ".png", b"\x89PNG\r\n\x1a\n", "PNG")
ACCEPTED_KINDS = (PDF, JPEG, PNG)
# For <input type="file" accept=...>: a convenience for the browser's file picker only.
ACCEPT_ATTRIBUTE = ",".join(kind.media_type for kind in ACCEPTED_KINDS)
# Enough of the head to tell the accepted kinds apart.
HEAD_BYTES = max(len(kind.magic) for kind in ACCEPTED_KINDS)
JPEG_QUALITY = 90


def file_kind(head: bytes) -> FileKind | None:
    """The accepted kind whose magic number ``head`` starts with, or None."""
    return next((kind for kind in ACCEPTED_KINDS if head.startswith(kind.magic)), None)


@dataclass(frozen=True)
class AcceptedFile:
    """An upload that passed the checks: what to store, under which name."""

    kind: FileKind
    name: str
    content: bytes
    sha256: str

    @property
    def size(self) -> int:
        return len(self.content)

    def as_file(self) -> ContentFile:
        return ContentFile(self.content, name=self.name)


def accept_upload(uploaded_file, *, field) -> AcceptedFile:
    """Check an uploaded file and return what to store: the PDF as uploaded, an image
    re-encoded without its metadata, named after its detected kind, with the SHA-256
    of those stored bytes.

    Raises ``InvalidInput`` on ``field`` with a code: ``file_empty``, ``file_too_large``
    (over ``TAMKEEN_MAX_DOCUMENT_BYTES``), ``file_type_not_allowed``,
    ``image_unreadable`` or ``image_too_large`` (over ``TAMKEEN_MAX_IMAGE_PIXELS``).
    """
    content = _read(uploaded_file, field)
    kind = _kind_or_refuse(content, field)
    if kind.image_format:
        content = _reencoded(_decoded(content, kind, field), kind)
    return AcceptedFile(kind=kind, name=stored_name(uploaded_file.name, kind), content=content,
                        sha256=hashlib.sha256(content).hexdigest())


def check_upload(uploaded_file, *, field) -> FileKind:
    """The checks of ``accept_upload`` for a file that is only fingerprinted, never
    stored (the fingerprint is then of the bytes as uploaded). Same errors. Leaves the
    file at its start."""
    content = _read(uploaded_file, field)
    kind = _kind_or_refuse(content, field)
    if kind.image_format:
        _decoded(content, kind, field)
    return kind


def stored_name(name, kind: FileKind) -> str:
    """``name`` without its folders, with the extension of ``kind`` in place of its own."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    stem = base.rsplit(".", 1)[0].strip(" .")
    return f"{stem[:200] or 'file'}{kind.extension}"


def _refused(code, field, message) -> InvalidInput:
    return InvalidInput(code=code, field_errors={field: [message]})


def _read(uploaded_file, field) -> bytes:
    limit = settings.TAMKEEN_MAX_DOCUMENT_BYTES
    if uploaded_file is None or not uploaded_file.size:
        raise _refused("file_empty", field, _("The file is empty."))
    if uploaded_file.size > limit:
        raise _refused("file_too_large", field, _("The file is larger than %(mb)d MB.") % {"mb": limit // 2**20})
    uploaded_file.seek(0)
    content = b"".join(uploaded_file.chunks())
    uploaded_file.seek(0)
    return content


def _kind_or_refuse(content, field) -> FileKind:
    kind = file_kind(content[:HEAD_BYTES])
    if kind is None:
        raise _refused("file_type_not_allowed", field,
                       _("Only PDF, JPEG and PNG files are accepted, and this file is none of them."))
    return kind


def _decoded(content, kind, field) -> Image.Image:
    """The image's pixels, upright (its EXIF orientation applied)."""
    limit = settings.TAMKEEN_MAX_IMAGE_PIXELS
    try:
        # Only the format its magic number announced: nothing else gets to parse it.
        image = Image.open(io.BytesIO(content), formats=[kind.image_format])
        # The size is in the header: a decompression bomb is refused before any pixel
        # is decoded.
        if image.width * image.height <= limit:
            image.load()
            return ImageOps.exif_transpose(image)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        pass  # over Pillow's own ceiling (its warning is an error where warnings are)
    except Exception:
        # A damaged or crafted file makes Pillow fail in many ways (OSError, SyntaxError,
        # ValueError, struct.error...): all mean the same to the person uploading it.
        raise _refused("image_unreadable", field,
                       _("The image is damaged or incomplete and cannot be read.")) from None
    raise _refused("image_too_large", field, _(
        "The image is too large: at most %(megapixels)d megapixels."
    ) % {"megapixels": limit // 10**6})


def _reencoded(image, kind) -> bytes:
    options = {}
    if icc_profile := image.info.get("icc_profile"):
        options["icc_profile"] = icc_profile
    if kind is PNG and image.info.get("transparency") is not None:
        options["transparency"] = image.info["transparency"]
    if kind is JPEG:
        options["quality"] = JPEG_QUALITY
    # Pillow writes some of what it read back out (a JPEG's comment, for one) unless
    # told otherwise: start from nothing, add only the above.
    image.info = {}
    out = io.BytesIO()
    image.save(out, kind.image_format, **options)
    return out.getvalue()
