"""The viewflow site: the grant flow's task lists and the project pages, behind login.

Authentication is a wall around every URL of the site (anonymous visitors are sent
to the login page); authorisation is per application and per task (roles'
permissions). viewflow's ``SiteMiddleware`` checks the applications before any view
runs, so the applications let anonymous requests through to the wall instead of
answering 403.
"""

from django.contrib.auth.decorators import login_required
from django.urls import URLResolver, path
from django.utils.translation import gettext_lazy as _
from django.views.generic import RedirectView
from django_filters import ChoiceFilter, DateRangeFilter, FilterSet
from viewflow.urls import Site
from viewflow.workflow.fields import get_task_ref
from viewflow.workflow.flow import FlowAppViewset
from viewflow.workflow.flow import views as flow_views

from core.pagination import CappedPaginator
from reporting.views.exports import ProjectsCsvView
from reporting.views.letters import DecisionLetterView
from workflow import urls as workflow_urls


def _require_login(patterns):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            _require_login(pattern.url_patterns)
        else:
            pattern.callback = login_required(pattern.callback)


class ProjectColumn:
    """viewflow heads the column of a task's process with the method's name, in English
    ("Process summary"); a grant process's summary is its project."""

    def process_summary(self, task):
        return super().process_summary(task)

    process_summary.short_description = _("Project")


def bounded_task_filter(flow_class, *, human_only: bool):
    """viewflow's queue filters on its processes (one option per process in the queue:
    megabytes of HTML at a national scale) and lists its steps by a DISTINCT over every
    task; this filter offers the flow's steps, read from the flow, and the date."""

    def title(node):
        return getattr(node, "task_title", None) or node.name.replace("_", " ").capitalize()

    choices = [
        (get_task_ref(node), title(node)) for node in flow_class.instance.nodes()
        if not human_only or getattr(node, "task_type", "") == "HUMAN"
    ]

    class TaskFilter(FilterSet):
        flow_task = ChoiceFilter(label=_("Task"), choices=choices)
        created = DateRangeFilter(label=_("Created"))

        class Meta:
            model = flow_class.task_class
            fields = ("flow_task", "created")

    return TaskFilter


class ProjectsOfThePage:
    """Each row's summary names its project (``{{ process.project }}``, one query per
    row): the page's projects are read in one query and handed to their processes."""

    def paginate_queryset(self, queryset, page_size):
        from workflow.models import GrantProject

        paginator, page, _rows, is_paginated = super().paginate_queryset(queryset, page_size)
        page.object_list = tasks = list(page.object_list)
        ids = {task.process.artifact_object_id for task in tasks if task.process.artifact_object_id}
        projects = GrantProject.objects.select_related("program", "beneficiary", "sector").in_bulk(ids)
        for task in tasks:
            task.process._project = projects.get(task.process.artifact_object_id)
        return paginator, page, tasks, is_paginated


class BoundedFilter:
    human_only = False

    def get_filterset_class(self):
        return bounded_task_filter(self.flow_class, human_only=self.human_only)


class TaskListView(ProjectColumn, ProjectsOfThePage, BoundedFilter, flow_views.DashboardTaskListView):
    paginator_class = CappedPaginator


class QueueView(ProjectsOfThePage, BoundedFilter, flow_views.FlowQueueListView):
    human_only = True
    paginator_class = CappedPaginator


class ArchiveView(ProjectColumn, flow_views.FlowArchiveListView):
    paginator_class = CappedPaginator


class GrantFlowApp(FlowAppViewset):
    """viewflow's pages of the grant processes (queue, archive, a process's history);
    its own inbox is the site's: every flow's tasks in one list."""

    task_list_view_class = TaskListView
    queue_view_class = QueueView
    archive_view_class = ArchiveView
    inbox_path = path("inbox/", RedirectView.as_view(pattern_name="inbox:index"), name="inbox")

    def has_view_permission(self, user, obj=None):
        return not user.is_authenticated or super().has_view_permission(user, obj=obj)


class ProjectsApp(workflow_urls.ProjectsApp):
    """The projects' pages, with reporting's documents about a file: the decision letter
    and the CSV export of the list (reporting sits above workflow, so they join here)."""

    decision_letter_path = path("<int:pk>/decision-letter.pdf", DecisionLetterView.as_view(), name="decision_letter")
    export_path = path("export.csv", ProjectsCsvView.as_view(), name="export")


class TamkeenSite(Site):
    """The site at ``/``: its home is the inbox, what waits for me."""

    index_path = path("", RedirectView.as_view(pattern_name="inbox:index"), name="index")

    def menu_items(self):
        # An application may be reached from elsewhere only (the security pages: the user menu).
        return (app for app in super().menu_items() if getattr(app, "in_site_menu", True))

    @property
    def urls(self):
        patterns, app_name, namespace = super().urls
        if not getattr(self, "_login_wall", False):
            _require_login(patterns)
            self._login_wall = True
        return patterns, app_name, namespace
