"""The decision letter to the beneficiary, as a PDF (``?lang=ar`` or ``fr``; without it,
the beneficiary's language).

Whoever may read the project may download its letter (the association agent hands it
to the beneficiary). A project the committee has not decided on gets a coded,
translated refusal page, never a 500.
"""

from django.contrib.auth.mixins import PermissionRequiredMixin
from django.core.exceptions import ImproperlyConfigured
from django.http import Http404, HttpResponse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views import generic

from core.exceptions import TamkeenError
from reporting.letters import decision_letter_pdf, letter_languages
from reporting.views.exports import refusal
from workflow.models import GrantProject

TITLE = _("Decision letter")


class DecisionLetterView(PermissionRequiredMixin, generic.View):
    permission_required = "workflow.view_grantproject"
    http_method_names = ["get"]

    def get(self, request, pk):
        project = GrantProject.objects.select_related("beneficiary", "program").filter(pk=pk).first()
        if project is None:
            raise Http404(gettext("No such project."))
        language = request.GET.get("lang") or letter_languages(project.beneficiary)[0]
        try:
            pdf = decision_letter_pdf(project, language)
        except TamkeenError as error:
            message = error.field_errors.get("lang", [str(error.message)])[0]
            status = 400 if error.code == "invalid_input" else 409
            return self.refuse(request, project, message, error.code, status)
        except ImproperlyConfigured:
            return self.refuse(request, project, gettext("The letter cannot be generated on this server right now."),
                               "unavailable", 503)
        response = HttpResponse(pdf, content_type="application/pdf")
        response["Content-Disposition"] = f'inline; filename="decision-{project.reference}-{language}.pdf"'
        return response

    @staticmethod
    def refuse(request, project, message, code, status):
        response = refusal(request, TITLE, message, code=code, status=status)
        response.context_data["project"] = project
        return response
