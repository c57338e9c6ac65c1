"""The site as config/urls.py serves it, with the programs' pages mounted as the report
of the programs' screens asks (``ProgramsApp()`` in the site's viewsets, at
``/programs/``). Tests of those pages use it with ``pytest.mark.urls``."""

from django.urls import path
from django.utils.translation import gettext_lazy as _

from approvals.urls import CommitteesApp
from config import urls as config_urls
from config.site import GrantFlowApp, ProjectsApp, TamkeenSite
from disbursements.urls import FundingApp
from followup.urls import FollowUpApp
from notifications.urls import NotificationsApp
from reporting.urls import DashboardsApp
from training.urls import TrainingApp
from workflow.flows import GrantFlow
from workflow.urls import ProgramsApp

site = TamkeenSite(
    title=_("Tamkeen"),
    viewsets=[
        GrantFlowApp(GrantFlow, icon="assignment"),
        ProjectsApp(),
        ProgramsApp(),
        CommitteesApp(),
        FundingApp(),
        TrainingApp(),
        FollowUpApp(),
        NotificationsApp(),
        DashboardsApp(),
    ],
)

urlpatterns = [*config_urls.urlpatterns[:-1], path("", site.urls)]
