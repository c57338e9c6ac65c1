from django.urls import path
from django.utils.translation import gettext_lazy as _
from viewflow.urls import Application

from access.views import (
    ApproveView,
    GrantView,
    PeopleListView,
    PersonDetailView,
    RefuseView,
    RevokeView,
)


class PeopleApp(Application):
    app_name = "people"
    title = _("People and roles")
    icon = "manage_accounts"
    menu_template_name = "access/menu.html"

    index_path = path("", PeopleListView.as_view(), name="index")
    detail_path = path("<int:pk>/", PersonDetailView.as_view(), name="detail")
    grant_path = path("<int:pk>/grant/", GrantView.as_view(), name="grant")
    revoke_path = path("<int:pk>/revoke/<slug:role>/", RevokeView.as_view(), name="revoke")
    approve_path = path("requests/<int:pk>/approve/", ApproveView.as_view(), name="approve")
    refuse_path = path("requests/<int:pk>/refuse/", RefuseView.as_view(), name="refuse")

    def has_view_permission(self, user, obj=None):
        return not user.is_authenticated or user.has_perm("access.view_account")
