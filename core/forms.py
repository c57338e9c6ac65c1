"""What every app's forms share: a service's coded error shown on the form, and the
file field of uploads.

Forms parse input; the services decide. Business rules (a reason is required, a guard
holds, separation of duties) are checked by the services, whose coded errors
``add_service_error`` puts back on the form, next to the field they concern.
"""

from django import forms

from core.exceptions import TamkeenError
from core.uploads import ACCEPT_ATTRIBUTE


def add_service_error(form: forms.Form, error: TamkeenError) -> None:
    """Show a service's coded error on ``form``: on the field it names when the form
    has that field, above the form otherwise, with the error's code
    (``form.has_error(field, code)``)."""
    placed = False
    for field, messages in error.field_errors.items():
        target = field if field in form.fields else None
        for message in messages:
            form.add_error(target, forms.ValidationError(message, code=error.code))
            placed = True
    if not placed:
        form.add_error(None, forms.ValidationError(str(error.message), code=error.code))


class UploadField(forms.FileField):
    """A file upload whose picker offers the accepted kinds (PDF, JPEG, PNG). Only a
    convenience: the services check the content itself (``core.uploads``)."""

    def widget_attrs(self, widget):
        return {**super().widget_attrs(widget), "accept": ACCEPT_ATTRIBUTE}
