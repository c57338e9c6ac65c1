"""The projects' pages: the list, a file, the application and its documents, the
submission and the auditors' verification. config/site.py adds reporting's pages about a
file (the decision letter, the export) to the same namespace.

The programs' pages (``ProgramsApp``, mounted at ``/programs/``): the list, a program
with its committees, training plan and audit timeline, and its settings forms."""

from django.urls import path
from django.utils.translation import gettext_lazy as _
from viewflow.urls import Application

from workflow.views.intake import ApplicationCreateView, DocumentUploadView, ProjectEditView
from workflow.views.programs import ProgramCreateView, ProgramDetailView, ProgramEditView, ProgramListView
from workflow.views.projects import (
    DocumentDownloadView,
    ProjectDetailView,
    ProjectListView,
    ProjectVerifyView,
)
from workflow.views.submission import ProjectSubmitView


class ProjectsApp(Application):
    app_name = "projects"
    title = _("Projects")
    icon = "folder_open"
    menu_template_name = "workflow/projects_menu.html"

    index_path = path("", ProjectListView.as_view(), name="index")
    detail_path = path("<int:pk>/", ProjectDetailView.as_view(), name="detail")
    create_path = path("new/", ApplicationCreateView.as_view(), name="create")
    edit_path = path("<int:pk>/edit/", ProjectEditView.as_view(), name="edit")
    upload_path = path("<int:pk>/documents/upload/", DocumentUploadView.as_view(), name="upload")
    verify_path = path("<int:pk>/verify/", ProjectVerifyView.as_view(), name="verify")
    submit_path = path("<int:pk>/submit/", ProjectSubmitView.as_view(), name="submit")
    document_path = path("<int:pk>/documents/<int:document_pk>/", DocumentDownloadView.as_view(), name="document")

    def has_view_permission(self, user, obj=None):
        return not user.is_authenticated or user.has_perm("workflow.view_grantproject")


class ProgramsApp(Application):
    app_name = "programs"
    title = _("Programs")
    icon = "account_balance"
    menu_template_name = "workflow/programs/menu.html"

    index_path = path("", ProgramListView.as_view(), name="index")
    create_path = path("new/", ProgramCreateView.as_view(), name="create")
    detail_path = path("<int:pk>/", ProgramDetailView.as_view(), name="detail")
    edit_path = path("<int:pk>/edit/", ProgramEditView.as_view(), name="edit")

    def has_view_permission(self, user, obj=None):
        # Anonymous requests go on to the site's login wall rather than a 403.
        return not user.is_authenticated or user.has_perm("workflow.view_program")
