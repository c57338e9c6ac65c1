"""CSV exports for spreadsheets: the project list (with its current search and filters)
and a program's payments.

UTF-8 with a byte-order mark (so Excel reads Arabic), headers in the page's language,
amounts as plain decimals (``60000.00``, and their headers say so), cells that a spreadsheet would run as a
formula neutralised, streamed row by row so a large program never sits in memory.
The CIN and the beneficiary's category (which tells a disability) are exported only to
roles that may see them (``workflow.view_sensitive_beneficiary``), and such exports
are logged.
"""

import csv
import logging

from django import forms
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.http import StreamingHttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone, translation
from django.utils.translation import gettext as _t
from django.utils.translation import gettext_lazy as _
from django.views import generic

from core.bidi import isolate_text_if_rtl
from core.roles import PROJECT_EXPORT_PERMISSION
from disbursements.selectors import spreadsheet_cell
from workflow.models import Program, ProjectState
from workflow.models.project import Outcome
from workflow.selectors import can_view_sensitive
from workflow.views.projects import filter_projects

logger = logging.getLogger("tamkeen.exports")
BOM = "\ufeff"
CHUNK = 500


class _Echo:
    """A file-like object whose ``write`` returns what it is given (for csv.writer)."""

    def write(self, value):
        return value


def _cell(value) -> str:
    return spreadsheet_cell("" if value is None else value)


def _amount(value) -> str:
    return "" if value is None else format(value, "f")


def _when(value) -> str:
    return "" if value is None else timezone.localtime(value).isoformat(timespec="seconds")


def csv_response(filename: str, header: list[str], rows) -> StreamingHttpResponse:
    """Stream ``header`` then ``rows`` (iterables of already safe cells) as a CSV
    download, BOM first, in the language active now."""
    language = translation.get_language()
    writer = csv.writer(_Echo(), lineterminator="\r\n")

    def lines():
        yield BOM + writer.writerow(header)
        with translation.override(language):
            for row in rows:
                yield writer.writerow(row)

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def refusal(request, title, message, *, code, status):
    return TemplateResponse(
        request, "reporting/dashboards/refused.html", {"title": title, "message": message, "code": code}, status=status,
    )


# --- Projects -----------------------------------------------------------------------------


def money_header(label: str) -> str:
    """An amount column's header says its cells are machine-readable decimals (``60000.00``),
    not the pages' ``60 000,00 MAD``."""
    return _t("%(column)s, plain decimal (%(example)s)") % {
        "column": label, "example": isolate_text_if_rtl("60000.00")}


def project_header(*, sensitive: bool) -> list[str]:
    header = [
        _t("Reference"), _t("Title"), _t("Program"), _t("State"), _t("Activity sector"), _t("Commune"),
        _t("Beneficiary (Latin script)"), _t("Beneficiary (Arabic)"),
    ]
    if sensitive:
        header += [_t("National ID (CIN)"), _t("Woman in a difficult situation"), _t("Person with a disability")]
    header += [
        money_header(_t("Requested amount (MAD)")), money_header(_t("Own contribution (MAD)")),
        money_header(_t("Approved amount (MAD)")), _t("Outcome"),
        _t("Created at"), _t("Submitted at"),
    ]
    return header


# The columns an export row reads: plain values, no model instances (building five
# models a row, with django-fsm's bookkeeping, was most of a national export's time).
_PROJECT_COLUMNS = (
    "pk", "program__year", "title", "program__name", "state", "sector__name_fr", "sector__name_ar",
    "beneficiary__commune__name_fr", "beneficiary__commune__name_ar", "beneficiary__first_name",
    "beneficiary__last_name", "beneficiary__first_name_ar", "beneficiary__last_name_ar", "beneficiary__cin",
    "beneficiary__is_woman_in_difficulty", "beneficiary__has_disability", "requested_amount", "own_contribution",
    "approved_amount", "outcome", "created_at", "submitted_at",
)


def project_rows(projects, *, sensitive: bool):
    states = {s.value: str(s.label) for s in ProjectState}
    outcomes = {o.value: str(o.label) for o in Outcome}
    yes, no = _t("yes"), _t("no")
    arabic = (translation.get_language() or "").startswith("ar")  # as the reference data's ``name``
    columns = _PROJECT_COLUMNS if sensitive else tuple(c for c in _PROJECT_COLUMNS if c not in (
        "beneficiary__cin", "beneficiary__is_woman_in_difficulty", "beneficiary__has_disability"))
    for values in projects.values(*columns).iterator(chunk_size=CHUNK):
        row = [
            f"AGR-{values['program__year']}-{values['pk']:05d}", values["title"], values["program__name"],
            states.get(values["state"], values["state"]),
            values["sector__name_ar" if arabic else "sector__name_fr"],
            values["beneficiary__commune__name_ar" if arabic else "beneficiary__commune__name_fr"],
            f"{values['beneficiary__first_name']} {values['beneficiary__last_name']}",
            f"{values['beneficiary__first_name_ar']} {values['beneficiary__last_name_ar']}",
        ]
        if sensitive:
            row += [values["beneficiary__cin"], yes if values["beneficiary__is_woman_in_difficulty"] else no,
                    yes if values["beneficiary__has_disability"] else no]
        row += [
            _amount(values["requested_amount"]), _amount(values["own_contribution"]),
            _amount(values["approved_amount"]), outcomes.get(values["outcome"], ""),
            _when(values["created_at"]), _when(values["submitted_at"]),
        ]
        yield [_cell(value) for value in row]


class ProjectsCsvView(PermissionRequiredMixin, generic.View):
    """The projects the list shows for the same ``q``/``state``/``program`` (every page)."""

    permission_required = PROJECT_EXPORT_PERMISSION
    http_method_names = ["get"]

    def get(self, request):
        _form, projects = filter_projects(request.GET)
        sensitive = can_view_sensitive(request.user)
        if sensitive:
            logger.info("projects export with CIN and category by user %s (filters %s)",
                        request.user.pk, request.GET.urlencode())
        filename = f"projects-{timezone.localdate().isoformat()}.csv"
        return csv_response(filename, project_header(sensitive=sensitive), project_rows(projects, sensitive=sensitive))


# --- Payments -----------------------------------------------------------------------------


class ProgramForm(forms.Form):
    program = forms.ModelChoiceField(queryset=Program.objects.all())


def payment_header() -> list[str]:
    return [
        _t("Reference"), _t("Project"), _t("Beneficiary"), money_header(_t("Amount (MAD)")), _t("Payment reference"),
        _t("Released at"), _t("Released by"),
    ]


class PaymentsCsvView(PermissionRequiredMixin, generic.View):
    """``?program=<id>``: the program's released disbursements, the same rows as the
    accounting export (``disbursements.selectors.payment_rows``), for spreadsheets."""

    http_method_names = ["get"]

    def has_permission(self):
        from disbursements.views import can_export_payments

        return can_export_payments(self.request.user)

    def get(self, request):
        from disbursements.selectors import payment_rows

        form = ProgramForm(request.GET)
        if not form.is_valid():
            return refusal(request, _("Payments export"), _("Choose an existing program to export its payments."),
                           code="invalid_input", status=400)
        program = form.cleaned_data["program"]
        filename = f"payments-{program.code}-{timezone.localdate().isoformat()}.csv"
        return csv_response(filename, payment_header(), payment_rows(program))
