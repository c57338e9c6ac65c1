"""What every app's forms share: a service's coded error shown on the form.

Forms parse input; the services decide. Business rules (a reason is required, a guard
holds, separation of duties) are checked by the services, whose coded errors
``add_service_error`` puts back on the form, next to the field they concern.
"""

from django import forms

from core.exceptions import TamkeenError


def add_service_error(form: forms.Form, error: TamkeenError) -> None:
    """Show a service's coded error on ``form``: on the field it names when the form
    has that field, above the form otherwise."""
    placed = False
    for field, messages in error.field_errors.items():
        target = field if field in form.fields else None
        for message in messages:
            form.add_error(target, message)
            placed = True
    if not placed:
        form.add_error(None, str(error.message))
