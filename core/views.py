"""The one way a screen writes: a form parses the input, one service decides, and a
coded error goes back on the form's fields (never a 500, nothing half-written).

- ``call_with_form`` is the adapter itself, shared by every screen that writes;
- ``ServiceFormView`` is a page with one form for one action (its confirmation for an
  irreversible act, its password for money and decisions);
- ``ServiceFormMixin`` is for POST endpoints that render the page they were posted from
  (the committee screens, the funding tray's rows);
- the flows' step screens (``workflow.views.tasks`` and the other apps') are
  ``ServiceFormView`` pages too: the transition closes its task in its own transaction.
"""

from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _
from django.views import generic

from core.exceptions import TamkeenError
from core.forms import add_service_error

_FAILED = object()


def call_with_form(form, call):
    """Run ``call()`` (one service); on a coded error put it on ``form`` and return
    ``None`` with ``form`` invalid. Returns what the service returned otherwise."""
    try:
        return call()
    except TamkeenError as error:
        add_service_error(form, error)
        return _FAILED


def failed(result) -> bool:
    return result is _FAILED


def next_url(request) -> str:
    """The page of this site the user came from (``?next=``: the inbox a step was opened
    from), or ``""`` — never another site's."""
    target = request.GET.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return ""


def with_next(url: str, back: str) -> str:
    """``url`` with ``next=back`` added to the query it may already carry (before its
    ``#anchor``, if any); ``url`` itself when there is nowhere to go back to."""
    if not back:
        return url
    path, hash_mark, anchor = url.partition("#")
    return f"{path}{'&' if '?' in path else '?'}{urlencode({'next': back})}{hash_mark}{anchor}"


def keep_next(request, url: str) -> str:
    """``url`` with this request's safe ``?next=`` carried on (a page of several forms
    opened from the inbox: each post comes back to it, and it still leads back)."""
    return with_next(url, next_url(request))


def add_confirmation(form, text):
    """An irreversible action: the form asks the user to tick ``text``."""
    form.fields["confirm"] = forms.BooleanField(
        label=text, required=True,
        error_messages={"required": _("Tick the box to confirm: this cannot be undone.")},
    )


def add_password(form):
    """Money and decisions: the user types their password again (step-up)."""
    form.fields["password"] = forms.CharField(
        label=_("Your password"), strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        help_text=_("Confirm it is you: this act is signed in your name."),
    )


class ServiceFormView(generic.FormView):
    """One action on one object, as a page: GET shows the form, POST calls the service.

    Subclasses set ``form_class``, ``title`` and ``submit_label`` and implement
    ``call_service(form)``; ``confirm`` (a sentence) makes the form ask for an explicit
    confirmation, ``stepup`` for the password. ``get_subject`` names the object the
    page is about and ``get_back_url`` where Cancel and success go.
    """

    template_name = "core/action_form.html"
    form_class = forms.Form
    title = ""
    intro = ""
    submit_label = _("Save")
    success_message = ""
    confirm = ""
    stepup = False
    danger = False
    action_name = ""

    def call_service(self, form):
        raise NotImplementedError

    def get_subject(self):
        return ""

    def get_back_url(self):
        return ""

    def get_success_url(self):
        """Where the user came from when it was one of our pages (``?next=``: the inbox
        a step was opened from), the object's page otherwise."""
        return next_url(self.request) or self.get_back_url()

    def get_success_message(self, result):
        return self.success_message

    def get_unavailable_reason(self):
        """Why the action cannot be taken now (shown above the form), or ``""``."""
        return ""

    def get_form(self, form_class=None):
        form = super().get_form(form_class)
        if self.confirm:
            add_confirmation(form, self.confirm)
        if self.stepup:
            add_password(form)
        return form

    def form_valid(self, form):
        result = call_with_form(form, lambda: self.call_service(form))
        if failed(result):
            return self.form_invalid(form)
        self.result = result
        message = self.get_success_message(result)
        if message:
            messages.success(self.request, message)
        return redirect(self.get_success_url())

    def get_context_data(self, **kwargs):
        kwargs.setdefault("action_title", self.title)
        kwargs.setdefault("action_intro", self.intro)
        kwargs.setdefault("action_name", self.action_name)
        kwargs.setdefault("submit_label", self.submit_label)
        kwargs.setdefault("subject", self.get_subject())
        kwargs.setdefault("back_url", self.get_back_url())
        kwargs.setdefault("danger", self.danger)
        kwargs.setdefault("unavailable_reason", self.get_unavailable_reason())
        return super().get_context_data(**kwargs)


class ServiceFormMixin:
    """For POST endpoints that are also the page they were posted from.

    Subclasses set ``form_context_name`` (the context key under which the page shows
    the bound form), build the form in ``get_bound_form`` and call their service in
    ``call_service``; ``success_message`` and ``get_success_url`` say what follows,
    unless the page was opened from another of ours (``?next=``: the inbox).
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

    def get_redirect_url(self):
        """Back where the page was opened from (``?next=``), else ``get_success_url``.
        A page whose forms each take one part of a task stays on itself instead."""
        return next_url(self.request) or self.get_success_url()

    def post(self, request, *args, **kwargs):
        form = self.get_bound_form()
        if form.is_valid() and not failed(call_with_form(form, lambda: self.call_service(form))):
            if self.success_message:
                messages.success(request, self.success_message)
            return redirect(self.get_redirect_url())
        return self.render_to_response(self.get_context_data(**{self.form_context_name: form}))
