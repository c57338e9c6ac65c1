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

from core.exceptions import TamkeenError
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
        if not SubmitForm(request.POST).is_valid():
            messages.error(request, gettext("Tick the confirmation box to submit the application."))
            return redirect("projects:detail", pk=project.pk)
        try:
            project = services.project_submit(project_id=project.pk, actor=request.user)
        except TamkeenError as error:
            # The reasons (e.g. which documents are missing) when the error gives them.
            details = [str(m) for ms in error.field_errors.values() for m in ms]
            messages.error(request, " ".join(details) or str(error.message))
        else:
            messages.success(request, gettext("Application %(reference)s submitted for screening.")
                             % {"reference": project.reference})
        return redirect("projects:detail", pk=project.pk)
