"""The funding application of the viewflow site (mounted at ``/funding/``)."""

from django.urls import path
from django.utils.translation import gettext_lazy as _
from viewflow.urls import Application

from disbursements import views


class FundingApp(Application):
    app_name = "funding"
    title = _("Funding")
    icon = "payments"
    menu_template_name = "disbursements/funding_menu.html"

    # Authorizing officers and treasurers: what waits for them.
    index_path = path("", views.FinanceInboxView.as_view(), name="index")
    authorize_path = path("disbursements/<int:pk>/authorize/", views.AuthorizeView.as_view(), name="authorize")
    reject_path = path("disbursements/<int:pk>/reject/", views.RejectView.as_view(), name="reject")
    release_path = path("disbursements/<int:pk>/release/", views.ReleaseView.as_view(), name="release")
    # Everyone who reads funding: a project's plan, orders, tranches and balance.
    project_path = path("projects/<int:pk>/", views.ProjectFundingView.as_view(), name="project")
    decommit_path = path("projects/<int:pk>/give-back/", views.DecommitView.as_view(), name="decommit")
    # Accounting.
    payments_path = path("payments.csv", views.PaymentsCsvView.as_view(), name="payments")

    def has_view_permission(self, user, obj=None):
        # Anonymous requests go on to the site's login wall rather than a 403.
        return not user.is_authenticated or user.has_perm(views.VIEW)
