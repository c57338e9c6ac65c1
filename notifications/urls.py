"""The notifications application of the viewflow site (mounted at ``/notifications/``):
every signed-in user's own notifications and preferences."""

from django.urls import path
from django.utils.translation import gettext_lazy as _
from viewflow.urls import Application

from notifications import views
from notifications.views_deadlines import ProgramDeadlinesView


class NotificationsApp(Application):
    app_name = "notifications"
    title = _("Notifications")
    icon = "notifications"
    menu_template_name = "notifications/menu.html"

    index_path = path("", views.NotificationListView.as_view(), name="index")
    read_path = path("<int:pk>/read/", views.MarkReadView.as_view(), name="read")
    read_all_path = path("read-all/", views.MarkAllReadView.as_view(), name="read_all")
    preferences_path = path("preferences/", views.PreferencesView.as_view(), name="preferences")
    # A program's time limits (program officers, administrators).
    deadlines_path = path("programs/<int:pk>/deadlines/", ProgramDeadlinesView.as_view(), name="deadlines")

    def has_view_permission(self, user, obj=None):
        # Everyone has notifications; anonymous requests go on to the site's login wall.
        return True
