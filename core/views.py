"""The one way a committee screen writes: parse a form, call one service, and on a
coded error show it on the form and render the page again (never a 500)."""

from django.contrib import messages
from django.shortcuts import redirect

from core.exceptions import TamkeenError
from core.forms import add_service_error


class ServiceFormMixin:
    """For POST endpoints that are also the page they were posted from.

    Subclasses set ``form_context_name`` (the context key under which the page shows
    the bound form), build the form in ``get_bound_form`` and call their service in
    ``call_service``; ``success_message`` and ``get_success_url`` say what follows.
    """

    form_context_name = "form"
    success_message = ""
    http_method_names = ["get", "post"]

    def get_bound_form(self):
        raise NotImplementedError

    def call_service(self, form):
        raise NotImplementedError

    def get_success_url(self):
        raise NotImplementedError

    def post(self, request, *args, **kwargs):
        form = self.get_bound_form()
        if form.is_valid():
            try:
                self.call_service(form)
            except TamkeenError as error:
                add_service_error(form, error)
            else:
                if self.success_message:
                    messages.success(request, self.success_message)
                return redirect(self.get_success_url())
        return self.render_to_response(self.get_context_data(**{self.form_context_name: form}))
