"""The follow-up application of the viewflow site (mounted at ``/followup/``)."""

from django.urls import path
from django.utils.translation import gettext_lazy as _
from viewflow.urls import Application

from followup import views


class FollowUpApp(Application):
    app_name = "followup"
    title = _("Follow-up")
    icon = "trending_up"
    menu_template_name = "followup/followup_menu.html"

    index_path = path("", views.VisitListView.as_view(), name="index")
    visit_path = path("visits/<int:pk>/", views.VisitDetailView.as_view(), name="visit")
    report_path = path("visits/<int:pk>/report/", views.VisitReportView.as_view(), name="report")
    attachment_path = path("visits/<int:pk>/attachment/", views.VisitAttachmentView.as_view(), name="attachment")
    project_path = path("projects/<int:pk>/", views.ProjectFollowUpView.as_view(), name="project")
    plan_path = path("projects/<int:pk>/plan/", views.PlanCreateView.as_view(), name="plan")
    mentor_path = path("projects/<int:pk>/mentor/", views.MentorAssignView.as_view(), name="mentor")
    close_path = path("projects/<int:pk>/close/", views.CloseView.as_view(), name="close")
    # Program officers: launched projects whose latest visit found a risk.
    at_risk_path = path("at-risk/", views.AtRiskListView.as_view(), name="at_risk")

    def has_view_permission(self, user, obj=None):
        # Anonymous requests go on to the site's login wall rather than a 403.
        return not user.is_authenticated or user.has_perm("followup.view_followupvisit")
