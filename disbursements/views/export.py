"""The payments export for accounting."""

from django.contrib.auth.mixins import PermissionRequiredMixin
from django.http import Http404, StreamingHttpResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views import generic

from disbursements.forms import ProgramChoiceForm
from disbursements.selectors import payments_csv_lines
from disbursements.views.access import can_export_payments


class PaymentsCsvView(PermissionRequiredMixin, generic.View):
    """``?program=<id>``: every released disbursement of the program, for accounting,
    streamed line by line."""

    http_method_names = ["get"]

    def has_permission(self):
        return can_export_payments(self.request.user)

    def get(self, request):
        form = ProgramChoiceForm(request.GET)
        if not form.is_valid():
            raise Http404(_("Choose a program."))
        program = form.cleaned_data["program"]
        response = StreamingHttpResponse(payments_csv_lines(program), content_type="text/csv; charset=utf-8")
        filename = f"payments-{program.code}-{timezone.localdate().isoformat()}.csv"
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response
