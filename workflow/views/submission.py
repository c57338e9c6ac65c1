"""The association agent submits a draft application from its project page.

POST only, behind a confirmation box; ``project_submit`` checks the rest (permission,
consent, every required document, the ceiling) and its coded error is shown as is.
"""

from django import forms
from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views import generic

from core.views import call_with_form, failed
from workflow import services
from workflow.models import GrantProject

SUBMIT_CONFIRM = _("I confirm the file is complete: once submitted, it goes to the program officer for screening.")


class SubmitForm(forms.Form):
    confirm = forms.BooleanField(label=SUBMIT_CONFIRM)


class ProjectSubmitView(PermissionRequiredMixin, generic.View):
    permission_required = "workflow.submit_project"
    http_method_names = ["post"]

    def post(self, request, pk):
        project = get_object_or_404(GrantProject, pk=pk)
        form = SubmitForm(request.POST)
        if not form.is_valid():
            messages.error(request, gettext("Tick the confirmation box to submit the application."))
            return redirect("projects:detail", pk=project.pk)
        submitted = call_with_form(form, lambda: services.project_submit(project_id=project.pk, actor=request.user))
        if failed(submitted):
            # The panel is part of the file's page: its reasons (which documents are
            # missing, the ceiling) are said there, one message each.
            for errors in form.errors.values():
                for error in errors:
                    messages.error(request, error)
        else:
            messages.success(request, gettext("Application %(reference)s submitted for screening.")
                             % {"reference": submitted.reference})
        return redirect("projects:detail", pk=project.pk)
