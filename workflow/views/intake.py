"""The association agent's intake screens (mounted under ``/projects/``): a new
application (an existing or a new beneficiary, and the project), the edition of a
draft, and the upload of typed documents.

Each write parses a form and calls one service (``application_create``,
``project_update``, ``document_attach``); a coded error goes back on the form, next
to the field it concerns, and nothing is saved. These permission checks only decide
what a page shows: the services check again.
"""

from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.translation import gettext
from django.views import generic

from core import scopes
from core.exceptions import TransitionNotAllowed
from core.views import call_with_form, failed
from workflow import selectors, services
from workflow.forms_intake import ApplicationForm, DocumentUploadForm, ProjectEditForm, search_beneficiaries
from workflow.models import Beneficiary, DocumentType, GrantProject
from workflow.services.intake import EDITABLE_STATES
from workflow.views.projects import pii_log

SEARCH_LIMIT = 20


def missing_document_labels(project):
    """The required documents a file still lacks before it can be (re)submitted, or
    ``None`` once it is past submission (nothing is "missing" then)."""
    if project.state not in EDITABLE_STATES:
        return None
    return [DocumentType(t).label for t in project.missing_documents() if t in DocumentType.values]


class ApplicationCreateView(PermissionRequiredMixin, generic.TemplateView):
    """Step 1, the beneficiary: search an existing one (``?find=``, pick with
    ``?beneficiary=<id>``) or fill in a new one; step 2, the project. One POST saves
    both in one transaction."""

    permission_required = ("workflow.add_grantproject", "workflow.add_beneficiary")
    template_name = "workflow/intake/application_form.html"

    def get(self, request, *args, **kwargs):
        initial = {}
        chosen = request.GET.get("beneficiary", "")
        if chosen:
            if not chosen.isdigit():
                raise Http404(gettext("No such beneficiary."))
            initial["beneficiary"] = get_object_or_404(Beneficiary, pk=chosen)
        return self.render_to_response(self.get_context_data(form=ApplicationForm(initial=initial)))

    def post(self, request, *args, **kwargs):
        form = ApplicationForm(request.POST)
        if form.is_valid():
            project = call_with_form(form, lambda: services.application_create(
                actor=request.user, **form.service_arguments()))
            if not failed(project):
                messages.success(request, gettext(
                    "Application %(reference)s opened as a draft. Upload its documents, then submit it."
                ) % {"reference": project.reference})
                return redirect("projects:detail", pk=project.pk)
        else:
            # The form's own refusals and the service's (a CIN already registered, an amount
            # over the ceiling) in the same round, not one after the other.
            form.add_errors_not_shown(services.application_errors(**form.checked_arguments()))
        return self.render_to_response(self.get_context_data(form=form))

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        form = context["form"]
        user = self.request.user
        with_cin = selectors.can_view_sensitive(user)
        find = self.request.GET.get("find", "").strip()[:100]
        found = list(search_beneficiaries(find, with_cin=with_cin)[: SEARCH_LIMIT + 1]) if find else []
        if form.is_bound:
            chosen = form.cleaned_data.get("beneficiary") if hasattr(form, "cleaned_data") else None
        else:
            chosen = form.initial.get("beneficiary")
        shown = [person.pk for person in found[:SEARCH_LIMIT]] + ([chosen.pk] if chosen else [])
        if with_cin and shown:
            pii_log.info("user %s (id %s) read the national ID of beneficiaries %s on the intake form",
                         user.get_username(), user.pk, shown)
        context.update(
            find=find, found=found[:SEARCH_LIMIT], more_found=len(found) > SEARCH_LIMIT,
            chosen=chosen, show_sensitive=with_cin,
        )
        return context


class _EditableProjectMixin:
    """The file the page writes to: 404 when unknown, 403 when it is not one the user
    works on (``core.scopes``: an agent's own files, a mentor's followed ones)."""

    scope_permission = ""

    def get_project(self):
        project = get_object_or_404(
            GrantProject.objects.select_related("program", "beneficiary", "sector"), pk=self.kwargs["pk"]
        )
        if not scopes.allows(self.request.user, project, self.scope_permission):
            raise DjangoPermissionDenied(str(scopes.NOT_YOUR_FILE))
        return project


class ProjectEditView(PermissionRequiredMixin, _EditableProjectMixin, generic.TemplateView):
    """A draft's or a returned file's title, sector, description and amounts."""

    permission_required = "workflow.change_grantproject"
    scope_permission = "workflow.change_grantproject"
    template_name = "workflow/intake/project_form.html"

    def get(self, request, *args, **kwargs):
        project = self.get_project()
        if project.state not in EDITABLE_STATES:
            return self._refused(project)
        return self.render_to_response(self.get_context_data(project=project, form=ProjectEditForm.for_project(project)))

    def post(self, request, *args, **kwargs):
        project = self.get_project()
        form = ProjectEditForm.for_project(project, request.POST)
        if form.is_valid():
            changes = {name: form.cleaned_data[name] for name in form.changed_data}
            # A file that left the editable states meanwhile is refused on the form
            # (``transition_not_allowed``), with what the user typed kept.
            updated = call_with_form(form, lambda: services.project_update(
                project_id=project.pk, actor=request.user, **changes)) if changes else project
            if not failed(updated):
                if changes:
                    messages.success(request, gettext("Application %(reference)s updated.")
                                     % {"reference": updated.reference})
                else:
                    messages.info(request, gettext("Nothing was changed."))
                return redirect("projects:detail", pk=project.pk)
        return self.render_to_response(self.get_context_data(project=project, form=form))

    def _refused(self, project, error=None):
        error = error or TransitionNotAllowed(gettext("Only a draft or a file under revision can be edited."))
        messages.error(self.request, str(error.message))
        return redirect("projects:detail", pk=project.pk)


class DocumentUploadView(PermissionRequiredMixin, _EditableProjectMixin, generic.TemplateView):
    """Attach a typed document to a project; the page lists what is still missing."""

    permission_required = ("workflow.view_grantproject", "workflow.add_document")
    scope_permission = "workflow.add_document"
    template_name = "workflow/intake/document_form.html"

    def get(self, request, *args, **kwargs):
        project = self.get_project()
        return self.render_to_response(self.get_context_data(project=project, form=DocumentUploadForm(project)))

    def post(self, request, *args, **kwargs):
        project = self.get_project()
        form = DocumentUploadForm(project, request.POST, request.FILES)
        if form.is_valid():
            document = call_with_form(form, lambda: services.document_attach(
                project_id=project.pk, actor=request.user, doc_type=form.cleaned_data["doc_type"],
                uploaded_file=form.cleaned_data["file"],
            ))
            if not failed(document):
                messages.success(request, gettext(
                    "%(type)s attached (SHA-256 %(sha256)s)."
                ) % {"type": document.get_doc_type_display(), "sha256": document.sha256})
                return redirect(reverse("projects:detail", args=[project.pk]) + "#documents")
        return self.render_to_response(self.get_context_data(project=project, form=form))

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["missing_documents"] = missing_document_labels(context["project"])
        return context
