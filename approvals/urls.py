"""The committee application of the viewflow site (mounted at ``/committees/``)."""

from django.urls import path
from django.utils.translation import gettext_lazy as _
from viewflow.urls import Application

from approvals import views


class CommitteesApp(Application):
    app_name = "committees"
    title = _("Committee")
    icon = "gavel"
    menu_template_name = "approvals/committees_menu.html"

    index_path = path("", views.SessionListView.as_view(), name="index")
    create_path = path("new/", views.SessionCreateView.as_view(), name="create")
    detail_path = path("<int:pk>/", views.SessionDetailView.as_view(), name="detail")
    # Program officer: agenda and attendance.
    agenda_path = path("<int:pk>/agenda/", views.AgendaView.as_view(), name="agenda")
    agenda_add_path = path("<int:pk>/agenda/add/", views.AgendaAddView.as_view(), name="agenda_add")
    agenda_remove_path = path("<int:pk>/agenda/<int:item_pk>/remove/", views.AgendaRemoveView.as_view(),
                              name="agenda_remove")
    attendance_path = path("<int:pk>/attendance/", views.AttendanceView.as_view(), name="attendance")
    # Program officer: one eligible file onto a planned session (the grant flow's step).
    schedule_path = path("projects/<int:pk>/schedule/", views.ScheduleProjectView.as_view(), name="schedule")
    # Members: declarations and votes.
    member_path = path("<int:pk>/member/", views.MemberSessionView.as_view(), name="member")
    declare_path = path("<int:pk>/items/<int:item_pk>/declare/", views.DeclareInterestView.as_view(),
                        name="declare")
    vote_path = path("<int:pk>/items/<int:item_pk>/vote/", views.VoteView.as_view(), name="vote")
    confirm_decision_acting_path = path("<int:pk>/items/<int:item_pk>/acting-decision/",
                                        views.ConfirmDecisionActingView.as_view(), name="confirm_decision_acting")
    # The chair.
    console_path = path("<int:pk>/console/", views.ChairConsoleView.as_view(), name="console")
    confirm_decision_path = path("<int:pk>/items/<int:item_pk>/decision/", views.ConfirmDecisionView.as_view(),
                                 name="confirm_decision")
    open_path = path("<int:pk>/open/", views.SessionOpenView.as_view(), name="open")
    close_path = path("<int:pk>/close/", views.SessionCloseView.as_view(), name="close")
    # The minutes.
    minutes_path = path("<int:pk>/minutes.pdf", views.MinutesPdfView.as_view(), name="minutes")
    confirmations_path = path("<int:pk>/minutes/confirmations/", views.MinutesConfirmationsView.as_view(),
                              name="confirmations")
    confirm_minutes_path = path("<int:pk>/minutes/confirm/", views.MinutesConfirmView.as_view(),
                                name="confirm_minutes")

    # Program officers: a program's committees and their seats.
    committee_create_path = path("program/<int:program_pk>/committee/new/", views.CommitteeCreateView.as_view(),
                                 name="committee_create")
    committee_path = path("committee/<int:committee_pk>/", views.CommitteeDetailView.as_view(), name="committee")
    member_add_path = path("committee/<int:committee_pk>/seats/new/", views.SeatAddView.as_view(),
                           name="member_add")
    member_end_path = path("committee/<int:committee_pk>/seats/<int:member_pk>/end/", views.SeatEndView.as_view(),
                           name="member_end")

    def has_view_permission(self, user, obj=None):
        # Anonymous requests go on to the site's login wall rather than a 403.
        return not user.is_authenticated or user.has_perm("approvals.view_committeesession")
