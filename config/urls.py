from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _

from approvals.urls import CommitteesApp
from disbursements.urls import FundingApp
from workflow.flows import GrantFlow
from workflow.training_urls import TrainingApp
from workflow.views.site import GrantFlowApp, ProjectsApp, TamkeenSite

site = TamkeenSite(
    title=_("Tamkeen"),
    viewsets=[
        GrantFlowApp(GrantFlow, icon="assignment"),
        ProjectsApp(),
        CommitteesApp(),
        FundingApp(),
        TrainingApp(),
    ],
)

urlpatterns = [
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("accounts/", include("django.contrib.auth.urls")),
]

if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)

# Last: the site answers at the root ("/" redirects to the inbox).
urlpatterns += [path("", site.urls)]
