"""The training application of the viewflow site (mounted at ``/training/``)."""

from django.urls import path
from django.utils.translation import gettext_lazy as _
from viewflow.urls import Application

from training import views
from training.views_plan import PlanView


class TrainingApp(Application):
    app_name = "training"
    title = _("Training")
    icon = "school"
    menu_template_name = "training/training_menu.html"

    index_path = path("", views.SessionListView.as_view(), name="index")
    create_path = path("sessions/new/", views.SessionCreateView.as_view(), name="create")
    # The session's trainer: the whole group in one form.
    attendance_path = path("sessions/<int:pk>/attendance/", views.AttendanceView.as_view(), name="attendance")
    # Program officers: who is ready for the training sign-off.
    progress_path = path("progress/", views.ProgressView.as_view(), name="progress")
    attestation_path = path("projects/<int:pk>/attestation.pdf", views.AttestationView.as_view(),
                            name="attestation")

    # Program officers and administrators: a program's training plan.
    plan_path = path("programs/<int:program_pk>/plan/", PlanView.as_view(), name="plan")

    def has_view_permission(self, user, obj=None):
        # Anonymous requests go on to the site's login wall rather than a 403.
        return not user.is_authenticated or user.has_perm("training.view_trainingsession")
