"""The follow-up screens (mounted at ``/followup/``): the mentor's visits, the visit
report form, a project's follow-up section, the at-risk list, the mentor's assignment
and the closure form.

Each write parses a form and calls one service; a coded error goes back on the form
(never a 500). Reads go through ``followup.selectors``. These checks only
decide what a page shows: the services check again.
"""

from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.views import generic

from core.downloads import file_download
from core.exceptions import TamkeenError
from core.pagination import KeysetListMixin, keyset_page
from core.views import call_with_form, failed, next_url
from followup import selectors
from followup import services as followup_services
from followup.forms import AtRiskFilterForm, CloseForm, MentorAssignForm, VisitFilterForm, VisitReportForm
from followup.models import FollowUpVisit, VisitReport, VisitState
from workflow.models import GrantProject, ProjectState

# Program officers (they assign mentors), auditors and administrators read every
# project's follow-up; a mentor reads the visits assigned to them.
READS_ALL = ("followup.assign_mentor", "ledger.view_auditentry")


def reads_all_followup(user) -> bool:
    return any(user.has_perm(perm) for perm in READS_ALL)


def _can_read_project(user, project) -> bool:
    return reads_all_followup(user) or (project.mentor_id is not None and project.mentor_id == user.pk) or (
        FollowUpVisit.objects.filter(project_id=project.pk, mentor=user).exists()
    )


def _query_string(request):
    query = request.GET.copy()
    for cursor in ("page", "after", "before"):
        query.pop(cursor, None)
    return query


def with_report_links(visits, user):
    """Give each visit ``report_url``: its report form when ``user`` may report it now."""
    for visit in visits:
        visit.report_url = reverse("followup:report", args=[visit.pk]) if visit.reportable_by(user) else ""
    return visits


class VisitListView(PermissionRequiredMixin, KeysetListMixin, generic.ListView):
    """A mentor's visits (every visit for an officer): due, upcoming, reported."""

    permission_required = "followup.view_followupvisit"
    template_name = "followup/visit_list.html"
    context_object_name = "visits"
    paginate_by = 20

    def get_keyset(self):
        return selectors.visit_order(self.when)

    def get_queryset(self):
        self.filter_form = VisitFilterForm(self.request.GET or None)
        data = self.filter_form.cleaned_data if self.filter_form.is_valid() else {}
        self.when = data.get("when") or ""
        return selectors.visits_for(
            self.request.user, reads_all=reads_all_followup(self.request.user), when=data.get("when") or "",
            program=data.get("program"), search=data.get("q") or "",
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        query = _query_string(self.request)
        user = self.request.user
        context.update(
            filter_form=self.filter_form, page_query=query.urlencode(), is_filtered=bool(query),
            today=timezone.localdate(), reads_all=reads_all_followup(user),
            can_report=user.has_perm("followup.report_visit"),
        )
        with_report_links(context["visits"], user)
        return context


class _VisitMixin:
    def get_visit(self, pk):
        visit = get_object_or_404(
            FollowUpVisit.objects.select_related("project", "project__beneficiary", "project__program", "mentor"),
            pk=pk,
        )
        user = self.request.user
        if not (reads_all_followup(user) or visit.mentor_id == user.pk):
            raise PermissionDenied(gettext("This visit is assigned to another mentor."))
        return visit


class VisitDetailView(PermissionRequiredMixin, _VisitMixin, generic.TemplateView):
    permission_required = "followup.view_followupvisit"
    template_name = "followup/visit_detail.html"

    def get_context_data(self, **kwargs):
        visit = self.get_visit(kwargs["pk"])
        report = getattr(visit, "report", None) if visit.state == VisitState.REPORTED else None
        return super().get_context_data(
            visit=visit, report=report, can_report=self._can_report(visit), **kwargs,
        )

    def _can_report(self, visit):
        return visit.reportable_by(self.request.user)


class VisitReportView(PermissionRequiredMixin, _VisitMixin, generic.FormView):
    """The assigned mentor's report of one visit."""

    permission_required = "followup.report_visit"
    template_name = "followup/visit_report_form.html"
    form_class = VisitReportForm

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            self.visit = self.get_visit(kwargs["pk"])
            if self.visit.mentor_id != request.user.pk:
                raise PermissionDenied(gettext("Only the mentor assigned to this visit can report it."))
            if self.visit.state != VisitState.PLANNED:
                messages.info(request, gettext("This visit is already reported or cancelled."))
                return redirect("followup:visit", pk=self.visit.pk)
        return super().dispatch(request, *args, **kwargs)

    def get_initial(self):
        return {"visited_on": timezone.localdate(), "jobs_created": "0", "debts": "0"}

    def get_context_data(self, **kwargs):
        previous = VisitReport.objects.filter(
            visit__project_id=self.visit.project_id, visit__sequence__lt=self.visit.sequence,
        ).order_by("-visit__sequence").first()
        return super().get_context_data(visit=self.visit, previous=previous, **kwargs)

    def form_valid(self, form):
        reported = call_with_form(form, lambda: followup_services.visit_report(
            visit_id=self.visit.pk, actor=self.request.user, **form.service_data()))
        if failed(reported):
            return self.form_invalid(form)
        messages.success(self.request, gettext("Visit %(n)d of %(project)s reported.") % {
            "n": self.visit.sequence, "project": self.visit.project.reference,
        })
        return redirect(next_url(self.request) or reverse("followup:project", args=[self.visit.project_id]))


class VisitAttachmentView(PermissionRequiredMixin, _VisitMixin, generic.View):
    """A reported visit's photo or document, as a download (``core.downloads``)."""

    permission_required = "followup.view_visitreport"
    http_method_names = ["get"]

    def get(self, request, pk):
        visit = self.get_visit(pk)
        report = getattr(visit, "report", None) if visit.state == VisitState.REPORTED else None
        if report is None or not report.attachment:
            raise Http404(gettext("This visit has no attachment."))
        try:
            handle = report.attachment.open("rb")
        except (FileNotFoundError, ValueError):
            raise Http404(gettext("The file of this attachment is missing.")) from None
        return file_download(handle, filename=report.attachment_name or "attachment")


class ProjectFollowUpView(PermissionRequiredMixin, generic.TemplateView):
    """A project's follow-up: the plan, each visit and its report, the at-risk flag, and
    the officer's actions (assign the mentor, close)."""

    permission_required = "followup.view_followupvisit"
    template_name = "followup/project_followup.html"

    def get_context_data(self, **kwargs):
        project = get_object_or_404(
            GrantProject.objects.select_related("program", "beneficiary", "mentor"), pk=kwargs["pk"],
        )
        user = self.request.user
        if not _can_read_project(user, project):
            raise PermissionDenied(gettext("You do not follow this project."))
        launched = project.state == ProjectState.LAUNCHED
        followup = selectors.project_followup(project)
        for visit in followup["visits"]:
            visit.project = project
        with_report_links(followup["visits"], user)
        return super().get_context_data(
            project=project, **followup, launched=launched,
            can_assign=launched and user.has_perm("followup.assign_mentor"),
            can_close=launched and user.has_perm("workflow.close_project"),
            can_make_plan=launched and followup["plan"] is None and user.has_perm("workflow.launch_project"),
            **kwargs,
        )


class PlanCreateView(PermissionRequiredMixin, generic.View):
    """Make the missing plan of a project launched before plans existed (idempotent)."""

    permission_required = "workflow.launch_project"
    http_method_names = ["post"]

    def post(self, request, pk):
        try:
            followup_services.followup_plan_create(project_id=pk, actor=request.user)
        except TamkeenError as error:
            messages.error(request, str(error.message))
        else:
            messages.success(request, gettext("The follow-up plan is ready."))
        return redirect("followup:project", pk=pk)


class MentorAssignView(PermissionRequiredMixin, generic.FormView):
    permission_required = "followup.assign_mentor"
    template_name = "followup/mentor_form.html"
    form_class = MentorAssignForm

    def dispatch(self, request, *args, **kwargs):
        self.project = get_object_or_404(GrantProject.objects.select_related("mentor", "beneficiary"),
                                         pk=kwargs["pk"])
        return super().dispatch(request, *args, **kwargs)

    def get_initial(self):
        return {"mentor": self.project.mentor}

    def get_context_data(self, **kwargs):
        return super().get_context_data(project=self.project, **kwargs)

    def form_valid(self, form):
        assigned = call_with_form(form, lambda: followup_services.project_assign_mentor(
            project_id=self.project.pk, actor=self.request.user, mentor_id=form.cleaned_data["mentor"].pk))
        if failed(assigned):
            return self.form_invalid(form)
        messages.success(self.request, gettext("Mentor assigned."))
        return redirect("followup:project", pk=self.project.pk)


class CloseView(PermissionRequiredMixin, generic.FormView):
    """Close a launched project with its outcome. Irreversible: the form asks for an
    explicit confirmation."""

    permission_required = "workflow.close_project"
    template_name = "followup/close_form.html"
    form_class = CloseForm

    def dispatch(self, request, *args, **kwargs):
        self.project = get_object_or_404(GrantProject.objects.select_related("program", "beneficiary"),
                                         pk=kwargs["pk"])
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        followup = selectors.project_followup(self.project)
        return super().get_context_data(project=self.project, complete=followup["complete"],
                                        reported=followup["reported"], visit_count=len(followup["visits"]),
                                        launched=self.project.state == ProjectState.LAUNCHED, **kwargs)

    def form_valid(self, form):
        data = form.cleaned_data
        closed = call_with_form(form, lambda: followup_services.project_close(
            project_id=self.project.pk, actor=self.request.user, outcome=data["outcome"], reason=data["reason"],
            recovery=form.recovery()))
        if failed(closed):
            return self.form_invalid(form)
        messages.success(self.request, gettext("%(project)s is closed.") % {"project": self.project.reference})
        return redirect(next_url(self.request) or reverse("followup:project", args=[self.project.pk]))


class AtRiskListView(PermissionRequiredMixin, generic.TemplateView):
    """Program officers' work list: launched projects whose latest visit found a risk."""

    permission_required = "followup.view_followupvisit"
    template_name = "followup/at_risk.html"
    paginate_by = 20

    def has_permission(self):
        return super().has_permission() and reads_all_followup(self.request.user)

    def get_context_data(self, **kwargs):
        form = AtRiskFilterForm(self.request.GET or None)
        data = form.cleaned_data if form.is_valid() else {}
        plans = selectors.at_risk_plans(data.get("program"), search=data.get("q") or "")
        page = keyset_page(plans, self.request.GET, keys=selectors.AT_RISK_KEYS, size=self.paginate_by)
        query = _query_string(self.request)
        return super().get_context_data(
            filter_form=form, page=page, flagged=selectors.at_risk_rows(page.rows), page_query=page.first_query,
            is_filtered=bool(query), **kwargs,
        )
