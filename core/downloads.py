"""Stored uploads sent back to the browser: always as a download, never as a page.

The content type is read from the file's own first bytes (``core.uploads``), not from
its name; a file of no accepted kind (one stored before uploads were checked) goes as
``application/octet-stream``. ``nosniff`` stops the browser from guessing otherwise,
``attachment`` from rendering it in the site's origin, ``no-store`` from keeping
personal data in a cache.
"""

from django.http import FileResponse

from core.uploads import HEAD_BYTES, file_kind, stored_name

UNKNOWN_MEDIA_TYPE = "application/octet-stream"


def file_download(handle, *, filename) -> FileResponse:
    """A response sending the open binary file ``handle`` as a download named
    ``filename``, its extension that of the detected kind."""
    kind = file_kind(handle.read(HEAD_BYTES))
    handle.seek(0)
    if kind is not None:
        filename = stored_name(filename, kind)
    response = FileResponse(handle, as_attachment=True, filename=filename,
                            content_type=kind.media_type if kind else UNKNOWN_MEDIA_TYPE)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "no-store"
    return response
