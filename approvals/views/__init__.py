"""The committee screens (thin views: parse a form, call one approvals service)."""

from approvals.views.agenda import AgendaAddView, AgendaRemoveView, AgendaView, AttendanceView
from approvals.views.chair import ChairConsoleView, ConfirmDecisionView, SessionCloseView, SessionOpenView
from approvals.views.committees import CommitteeCreateView, CommitteeDetailView, SeatAddView, SeatEndView
from approvals.views.member import ConfirmDecisionActingView, DeclareInterestView, MemberSessionView, VoteView
from approvals.views.minutes import MinutesConfirmationsView, MinutesConfirmView, MinutesPdfView
from approvals.views.schedule import ScheduleProjectView
from approvals.views.sessions import SessionCreateView, SessionDetailView, SessionListView

__all__ = [
    "AgendaAddView", "AgendaRemoveView", "AgendaView", "AttendanceView", "ChairConsoleView",
    "CommitteeCreateView", "CommitteeDetailView", "SeatAddView", "SeatEndView",
    "ConfirmDecisionActingView", "ConfirmDecisionView", "DeclareInterestView", "MemberSessionView",
    "MinutesConfirmView", "MinutesConfirmationsView", "MinutesPdfView", "ScheduleProjectView", "SessionCloseView",
    "SessionCreateView", "SessionDetailView", "SessionListView", "SessionOpenView", "VoteView",
]
