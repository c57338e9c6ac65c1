from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _
from django.views.i18n import JavaScriptCatalog

from access.urls import PeopleApp
from approvals.urls import CommitteesApp
from config.site import GrantFlowApp, ProjectsApp, TamkeenSite
from core.csp_reports import csp_report
from core.i18n import set_language
from disbursements.urls import FundingApp
from followup.urls import FollowUpApp
from notifications.urls import NotificationsApp
from reporting.urls import DashboardsApp
from training.urls import TrainingApp
from twofactor.urls import SecurityApp
from workflow.flows import GrantFlow
from workflow.urls import InboxApp, ProgramsApp

site = TamkeenSite(
    title=_("Tamkeen"),
    viewsets=[
        InboxApp(),
        GrantFlowApp(GrantFlow, icon="assignment"),
        ProjectsApp(),
        ProgramsApp(),
        CommitteesApp(),
        FundingApp(),
        TrainingApp(),
        FollowUpApp(),
        NotificationsApp(),
        DashboardsApp(),
        PeopleApp(),
        SecurityApp(),
    ],
)

urlpatterns = [
    path("admin/", admin.site.urls),
    # Django's set_language, which also stores a signed-in user's choice (workflow/i18n.py).
    path("i18n/setlang/", set_language, name="set_language"),
    # viewflow's base page loads it: its date pickers' month and day names in the page's language.
    path("i18n/js/", JavaScriptCatalog.as_view(packages=["django.contrib.admin"]), name="javascript-catalog"),
    path("accounts/", include("django.contrib.auth.urls")),
    # Where browsers report what the Content-Security-Policy blocked (config/settings.py).
    path(settings.TAMKEEN_CSP_REPORT_URI.lstrip("/"), csp_report, name="csp_report"),
]

if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)

# Last: the site answers at the root ("/" redirects to the inbox).
urlpatterns += [path("", site.urls)]
