"""The committee screens (thin views: parse a form, call one approvals service)."""

from .agenda import AgendaAddView, AgendaRemoveView, AgendaView, AttendanceView
from .chair import ChairConsoleView, ConfirmDecisionView, SessionCloseView, SessionOpenView
from .member import ConfirmDecisionActingView, DeclareInterestView, MemberSessionView, VoteView
from .minutes import MinutesConfirmationsView, MinutesConfirmView, MinutesPdfView
from .sessions import SessionCreateView, SessionDetailView, SessionListView

__all__ = [
    "AgendaAddView", "AgendaRemoveView", "AgendaView", "AttendanceView", "ChairConsoleView",
    "ConfirmDecisionActingView", "ConfirmDecisionView", "DeclareInterestView", "MemberSessionView",
    "MinutesConfirmView", "MinutesConfirmationsView", "MinutesPdfView", "SessionCloseView",
    "SessionCreateView", "SessionDetailView", "SessionListView", "SessionOpenView", "VoteView",
]
