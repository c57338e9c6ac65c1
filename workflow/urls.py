"""The projects' pages: the list, a file, the application and its documents, the
submission, the file's own actions (``workflow.views.actions``) and the auditors'
verification. config/site.py adds reporting's pages about a file (the decision letter,
the export) to the same namespace.

The programs' pages (``ProgramsApp``, mounted at ``/programs/``): the list, a program
with its committees, training plan and audit timeline, and its settings forms.
The inbox (``InboxApp``, at ``/inbox/``): what waits for me, across every flow."""

from django.urls import path
from django.utils.translation import gettext_lazy as _
from viewflow.urls import Application

from workflow.views.actions import (
    ProjectAssignAgentView,
    ProjectEnrolView,
    ProjectOpenFundingView,
    ProjectResubmitView,
    ProjectResumeView,
    ProjectSuspendView,
    ProjectWithdrawView,
)
from workflow.views.inbox import InboxView
from workflow.views.intake import ApplicationCreateView, DocumentUploadView, ProjectEditView
from workflow.views.programs import ProgramCreateView, ProgramDetailView, ProgramEditView, ProgramListView
from workflow.views.projects import (
    DocumentDownloadView,
    ProjectDetailView,
    ProjectListView,
    ProjectVerifyView,
)
from workflow.views.submission import ProjectSubmitView
from workflow.views.tasks import LaunchView, ScreeningView, TrainingSignoffView


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
    resubmit_path = path("<int:pk>/resubmit/", ProjectResubmitView.as_view(), name="resubmit")
    enrol_path = path("<int:pk>/enrol/", ProjectEnrolView.as_view(), name="enrol")
    open_funding_path = path("<int:pk>/open-funding/", ProjectOpenFundingView.as_view(), name="open_funding")
    withdraw_path = path("<int:pk>/withdraw/", ProjectWithdrawView.as_view(), name="withdraw")
    suspend_path = path("<int:pk>/suspend/", ProjectSuspendView.as_view(), name="suspend")
    resume_path = path("<int:pk>/resume/", ProjectResumeView.as_view(), name="resume")
    assign_agent_path = path("<int:pk>/assign-agent/", ProjectAssignAgentView.as_view(), name="assign_agent")
    document_path = path("<int:pk>/documents/<int:document_pk>/", DocumentDownloadView.as_view(), name="document")
    # The grant flow's steps that workflow shows (the others are in their apps).
    screen_path = path("<int:pk>/screen/", ScreeningView.as_view(), name="screen")
    training_signoff_path = path("<int:pk>/training-signoff/", TrainingSignoffView.as_view(), name="training_signoff")
    launch_path = path("<int:pk>/launch/", LaunchView.as_view(), name="launch")

    def has_view_permission(self, user, obj=None):
        return not user.is_authenticated or user.has_perm("workflow.view_grantproject")


class InboxApp(Application):
    """What waits for me: the open tasks of every flow (``workflow.inbox``)."""

    app_name = "inbox"
    title = _("Inbox")
    icon = "inbox"
    menu_template_name = "workflow/inbox_menu.html"

    index_path = path("", InboxView.as_view(), name="index")

    def has_view_permission(self, user, obj=None):
        return True


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
