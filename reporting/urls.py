"""The reporting pages: dashboards and the payments export (the projects export and the
decision letters join the projects' pages, see config/site.py)."""

from django.urls import path
from django.utils.translation import gettext_lazy as _
from viewflow.urls import Application

from core.roles import DASHBOARD_PERMISSION
from reporting.views.dashboards import DashboardView, RefreshView
from reporting.views.exports import PaymentsCsvView


class DashboardsApp(Application):
    app_name = "dashboards"
    title = _("Dashboards")
    icon = "insights"
    menu_template_name = "reporting/dashboards/dashboards_menu.html"

    index_path = path("", DashboardView.as_view(), name="index")
    # "Refresh now": recompute the program's kept figures, back to its dashboard.
    refresh_path = path("refresh/", RefreshView.as_view(), name="refresh")
    # The program's payments for spreadsheets (BOM, headers in the page's language).
    payments_path = path("payments.csv", PaymentsCsvView.as_view(), name="payments")

    def has_view_permission(self, user, obj=None):
        # Anonymous requests go on to the site's login wall rather than a 403.
        return not user.is_authenticated or user.has_perm(DASHBOARD_PERMISSION)
