"""The viewflow site: the grant flow's task lists and the project pages, behind login.

Authentication is a wall around every URL of the site (anonymous visitors are sent
to the login page); authorisation is per application and per task (roles'
permissions). viewflow's ``SiteMiddleware`` checks the applications before any view
runs, so the applications let anonymous requests through to the wall instead of
answering 403.
"""

from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.urls import URLResolver, path
from django.views.generic import RedirectView
from viewflow.urls import Site
from viewflow.utils import viewprop
from viewflow.workflow import STATUS
from viewflow.workflow.flow import FlowAppViewset
from viewflow.workflow.flow.views import FlowInboxListView

from reporting.views.exports import ProjectsCsvView
from reporting.views.letters import DecisionLetterView
from workflow import urls as workflow_urls


def _require_login(patterns):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            _require_login(pattern.url_patterns)
        else:
            pattern.callback = login_required(pattern.callback)


def my_tasks(flow_class, user):
    """Tasks assigned to ``user`` and unassigned tasks ``user``'s roles may take."""
    tasks = flow_class.task_class._default_manager.filter(process__flow_class=flow_class)
    claimable = tasks.user_queue(user).filter(status=STATUS.NEW, owner__isnull=True)
    return tasks.filter(
        Q(owner=user, status=STATUS.ASSIGNED) | Q(pk__in=claimable.values("pk"))
    ).select_related("process").order_by("-created")


class InboxView(FlowInboxListView):
    """The role's work: tasks assigned to me first, and those my role may take."""

    @viewprop
    def queryset(self):
        return my_tasks(self.flow_class, self.request.user)

    def get_page_data(self, page):
        # Each row's summary names its project: read the page's projects in one query
        # instead of one per row.
        tasks = list(page)
        attach_projects([task.process for task in tasks])
        return super().get_page_data(tasks)


def attach_projects(processes):
    """Load the grant projects of ``processes`` (their artifacts) in one query and cache
    each on its process, where ``GrantProcess.project`` finds it."""
    from workflow.models import GrantProject

    ids = {process.artifact_object_id for process in processes if process.artifact_object_id}
    projects = GrantProject.objects.select_related("program", "beneficiary", "sector").in_bulk(ids)
    from followup.models import RiskReason
    from followup.selectors import risk_reasons_by_project

    risks = risk_reasons_by_project(projects)
    for process in processes:
        project = projects.get(process.artifact_object_id)
        if project is not None:
            reasons = risks.get(project.pk, [])
            project.risk_labels = [RiskReason(r).label if r in RiskReason.values else r for r in reasons]
            process._project = project


class GrantFlowApp(FlowAppViewset):
    inbox_view_class = InboxView

    def has_view_permission(self, user, obj=None):
        return not user.is_authenticated or super().has_view_permission(user, obj=obj)

    def get_context_data(self, request):
        context = super().get_context_data(request)
        if request.user.is_authenticated:
            context["user_inbox"] = my_tasks(self._flow_class, request.user)
        return context


class ProjectsApp(workflow_urls.ProjectsApp):
    """The projects' pages, with reporting's documents about a file: the decision letter
    and the CSV export of the list (reporting sits above workflow, so they join here)."""

    decision_letter_path = path("<int:pk>/decision-letter.pdf", DecisionLetterView.as_view(), name="decision_letter")
    export_path = path("export.csv", ProjectsCsvView.as_view(), name="export")


class TamkeenSite(Site):
    """The site at ``/``: its home is the inbox."""

    index_path = path("", RedirectView.as_view(pattern_name="grant:inbox"), name="index")

    @property
    def urls(self):
        patterns, app_name, namespace = super().urls
        if not getattr(self, "_login_wall", False):
            _require_login(patterns)
            self._login_wall = True
        return patterns, app_name, namespace
