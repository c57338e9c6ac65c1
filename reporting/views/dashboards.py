"""The program dashboards: pipeline, envelope, beneficiaries, follow-up.

The counts come from the program's kept figures (``reporting.models.ProgramFigures``,
recomputed by beat when the program changed, or by "Refresh now"), shown with the time
they were computed; the money and the first projects at risk are read live. The page
costs the same few queries whatever the number of projects. Charts are inline SVG drawn
by ``reporting.charts``, so nothing is loaded from elsewhere.
"""

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.shortcuts import redirect
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.translation import get_language_bidi, ngettext
from django.utils.translation import gettext as _t
from django.views import generic

from core.bidi import isolate_html
from core.money import format_integer, format_mad, format_mad_html
from core.roles import DASHBOARD_PERMISSION, PROJECT_EXPORT_PERMISSION
from disbursements.views import can_export_payments
from reporting import selectors as figures
from reporting import snapshot
from reporting.charts import Bar, Segment, bar_chart, stacked_bar
from reporting.services import program_figures_refresh, program_figures_refresh_requested
from reporting.views.exports import refusal


def format_count(value: int, language: str | None = None) -> str:
    """A count grouped as amounts are (``core.money``): 1 234 (Arabic, French), 1,234 (English)."""
    return format_integer(value, language)


class DashboardView(PermissionRequiredMixin, generic.TemplateView):
    """``?program=<id>`` (default: the current year's program)."""

    permission_required = DASHBOARD_PERMISSION
    template_name = "reporting/dashboards/dashboard.html"
    http_method_names = ["get"]

    def get_context_data(self, **kwargs):
        programs = list(figures.programs_for_choice())
        program, unknown = None, False
        if "program" in self.request.GET:
            program = chosen_program(programs, self.request.GET.get("program", ""))
            unknown = program is None
        if program is None:
            program = figures.default_program(programs)
        context = super().get_context_data(
            programs=programs, program=program, unknown_program=unknown,
            can_export_projects=self.request.user.has_perm(PROJECT_EXPORT_PERMISSION),
            can_export_payments=can_export_payments(self.request.user),
            **kwargs,
        )
        if program is not None:
            context.update(self._figures(program))
        return context

    def _figures(self, program) -> dict:
        rtl = get_language_bidi()
        board = kept_dashboard(program)
        project_list = reverse("projects:index")
        pipeline_rows = [
            {"row": row, "display": format_count(row.value),
             "href": f"{project_list}?{urlencode({'program': program.pk, 'state': row.key})}"}
            for row in board.pipeline.rows
        ]
        pipeline_chart = bar_chart(
            "chart-pipeline", _t("Projects per state"),
            _t("%(total)s projects of the program, by lifecycle state.") % {"total": format_count(board.pipeline.total)},
            [Bar(r["row"].label, r["row"].value, r["display"], r["href"]) for r in pipeline_rows], rtl=rtl,
        )
        money = board.envelope
        envelope_rows = [
            {"label": _t("Budget envelope"), "amount": money.envelope, "display": format_mad_html(money.envelope)},
            {"label": _t("Committed"), "amount": money.committed, "display": format_mad_html(money.committed)},
            {"label": _t("Released"), "amount": money.released, "display": format_mad_html(money.released)},
            {"label": _t("Committed, not yet released"), "amount": money.committed_unreleased,
             "display": format_mad_html(money.committed_unreleased)},
            {"label": _t("Free"), "amount": money.free, "display": format_mad_html(money.free)},
        ]
        envelope_chart = stacked_bar(
            "chart-envelope", _t("Budget envelope"),
            _t("Envelope of %(envelope)s: %(released)s released, %(pending)s committed and not yet released, "
               "%(free)s free.") % {
                "envelope": format_mad(money.envelope), "released": format_mad(money.released),
                "pending": format_mad(money.committed_unreleased), "free": format_mad(money.free)},
            [
                Segment(_t("Released"), money.released, format_mad(money.released), "#2e7d32"),
                Segment(_t("Committed, not yet released"), money.committed_unreleased,
                        format_mad(money.committed_unreleased), "#ef6c00"),
                Segment(_t("Free"), money.free, format_mad(money.free), "#90a4ae"),
            ],
            rtl=rtl,
        )
        people = board.beneficiaries
        category_chart = bar_chart(
            "chart-categories", _t("Beneficiaries by category"),
            _t("%(total)s beneficiaries with a project in the program, by category.") % {
                "total": format_count(people.total)},
            [Bar(row.label, row.value, format_count(row.value)) for row in people.categories], rtl=rtl,
        )
        commune_chart = bar_chart(
            "chart-communes", _t("Beneficiaries by commune"),
            _t("Beneficiaries with a project in the program, by commune of residence."),
            [Bar(row.label, row.value, format_count(row.value)) for row in people.communes], rtl=rtl,
        ) if people.communes else ""
        outcomes = board.followup.outcomes
        outcome_chart = bar_chart(
            "chart-outcomes", _t("Closed projects by outcome"),
            _t("%(total)s closed projects, by outcome.") % {"total": format_count(sum(o.value for o in outcomes))},
            [Bar(row.label, row.value, format_count(row.value)) for row in outcomes], rtl=rtl,
        )
        return {
            "board": board, "pipeline_rows": pipeline_rows, "pipeline_chart": pipeline_chart,
            "pipeline_total": format_count(board.pipeline.total),
            "envelope_rows": envelope_rows, "envelope_chart": envelope_chart,
            "categories": [(row, format_count(row.value)) for row in people.categories],
            "communes": [(row, format_count(row.value)) for row in people.communes],
            "beneficiaries_total": format_count(people.total),
            "category_chart": category_chart, "commune_chart": commune_chart,
            "outcomes": [(row, format_count(row.value)) for row in outcomes], "outcome_chart": outcome_chart,
            "at_risk": board.followup.at_risk,
            "followup_rows": _followup_rows(board.followup.summary),
            "at_risk_total": format_count(board.followup.summary.get("at_risk", len(board.followup.at_risk))),
            "at_risk_more": board.followup.summary.get("at_risk", 0) > len(board.followup.at_risk),
            "at_risk_url": _url_or_blank("followup:at_risk", program),
            "export_query": urlencode({"program": program.pk}),
            "computed_at": board.computed_at,
            "figures_time": _time_html(board.computed_at) if board.computed_at else "",
        }


def chosen_program(programs, wanted: str):
    """The program of ``programs`` whose id is ``wanted`` (the form's text), or None."""
    return next((p for p in programs if str(p.pk) == wanted.strip()), None)


def _time_html(moment) -> str:
    """``moment`` in local time, in the locale's date and time format, isolated
    left-to-right, inside ``<time datetime="…">``."""
    local = timezone.localtime(moment)
    return format_html('<time datetime="{}">{}</time>', local.isoformat(timespec="seconds"),
                       isolate_html(date_format(local, "DATETIME_FORMAT")))


def kept_dashboard(program) -> figures.Dashboard:
    """``program``'s dashboard from its kept figures; on a fresh install (none kept yet,
    or kept in an older format) they are computed now and kept."""
    kept = figures.kept_figures(program)
    counts = snapshot.load(kept.figures) if kept is not None else None
    if counts is None:
        kept = program_figures_refresh(program=program)
        counts = snapshot.load(kept.figures) if kept is not None else None
        if counts is None:  # the program was deleted meanwhile: show what it had
            return figures.program_dashboard(program)
    return figures.dashboard_from(program, counts, computed_at=kept.computed_at)


class RefreshView(PermissionRequiredMixin, generic.View):
    """"Refresh now": recompute the program's kept figures (POST ``program=<id>``), in the
    request for a small program and by the worker for a large one
    (``program_figures_refresh_requested``), and go back to its dashboard. Whoever may
    see the dashboard may refresh it: it recomputes what they may read and changes
    nothing else."""

    permission_required = DASHBOARD_PERMISSION
    http_method_names = ["post"]

    def post(self, request):
        program = chosen_program(figures.programs_for_choice(), request.POST.get("program", ""))
        if program is None:
            return refusal(request, _t("Program dashboard"),
                           _t("This program does not exist: nothing was recomputed."), code="not_found", status=404)
        done = program_figures_refresh_requested(program=program)
        if done.queued:
            messages.info(request, ngettext(
                "The figures of %(program)s (%(files)s file) are being recomputed in the background: reload "
                "this page in a few seconds to see them.",
                "The figures of %(program)s (%(files)s files) are being recomputed in the background: reload "
                "this page in a few seconds to see them.", done.files,
            ) % {"program": program.name, "files": format_integer(done.files)})
        else:
            messages.success(request, _t("The figures of %(program)s were recomputed.") % {"program": program.name})
        return redirect(f"{reverse('dashboards:index')}?{urlencode({'program': program.pk})}")


def _url_or_blank(name: str, program) -> str:
    """``name``'s address filtered on ``program``, or "" while that page is not served."""
    try:
        return f"{reverse(name)}?{urlencode({'program': program.pk})}"
    except NoReverseMatch:
        return ""


def _followup_rows(summary: dict) -> list[tuple[str, str]]:
    """(label, figure) rows of the follow-up module's summary, when it gives one."""
    if not summary:
        return []
    visits, latest = summary.get("visits") or {}, summary.get("latest") or {}
    rows = [
        (_t("Launched projects"), summary.get("launched")),
        (_t("Projects at risk"), summary.get("at_risk")),
        (_t("Follow-up visits due"), visits.get("due")),
        (_t("Follow-up visits reported"), visits.get("reported")),
        (_t("Jobs created (latest visits)"), latest.get("jobs_created")),
    ]
    shown = [(label, isolate_html(format_count(value))) for label, value in rows if isinstance(value, int)]
    average = latest.get("monthly_revenue_average")
    if average is not None:
        shown.append((_t("Average monthly revenue (latest visits)"), format_mad_html(average)))
    return shown
