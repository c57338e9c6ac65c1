"""What a person may do on a committee session now (``session_actions``): the pages of
its steps, derived from the session's state machine (``transition_options``) and from
who the user is on it — the program officer, the chair of the committee, a member who
sits on it — and its minutes once it is closed."""

from django.urls import reverse
from django.utils.translation import gettext as _

from approvals.models import Attendance, CommitteeMember, MinutesConfirmation
from core.actions import Action
from core.views import with_next
from ledger.transitions import transition_options

_STEPS = ["add_item", "record_attendance", "open", "declare_interest", "cast_vote", "close", "confirm_minutes"]


def session_actions(session, user, *, seat=None, back="") -> list[Action]:
    """The session's pages ``user`` may use now. ``seat``: the user's seat on the
    session's committee (``approvals.selectors.membership``), or ``None``; ``back``: the
    page the user came from (their inbox), where the steps that finish a task return."""
    options = transition_options(session, user, _STEPS)

    def offered(name):
        return name in options and not options[name]

    def url(name):
        return reverse(f"committees:{name}", args=[session.pk])

    def step_url(name):
        return with_next(url(name), back)

    is_chair = seat is not None and seat.role == CommitteeMember.Role.CHAIR
    running = "open" in options or "close" in options  # planned or open, whoever asks
    closed = "confirm_minutes" in options
    actions = [Action("overview", _("Overview"), url("detail"))]
    if offered("add_item") or offered("record_attendance"):
        actions.append(Action("agenda", _("Agenda and attendance"), url("agenda")))
    if seat is not None and (offered("declare_interest") or offered("cast_vote")):
        actions.append(Action("member", _("My session page"), url("member")))
    if running and (is_chair or user.has_perm("approvals.view_vote")):
        actions.append(Action("console", _("Chair's console"), url("console")))
    if is_chair and offered("open"):
        actions.append(Action("open", _("Open the session…"), step_url("open"),
                              confirm=_("Open the session: members vote from now on.")))
    if is_chair and offered("close"):
        actions.append(Action("close", _("Close the session…"), step_url("close"),
                              confirm=_("Close the session: votes freeze and the decisions apply.")))
    if closed:
        actions.append(Action("minutes", _("Minutes (PDF)"), url("minutes")))
        actions.append(Action("confirmations", _("Minutes confirmations"), url("confirmations")))
        # Each member present confirms once (the service refuses the others).
        present = Attendance.objects.filter(session=session, user=user, present=True).exists()
        confirmed = MinutesConfirmation.objects.filter(session=session, user=user).exists()
        if seat is not None and offered("confirm_minutes") and present and not confirmed:
            actions.append(Action("confirm_minutes", _("Confirm the minutes"), step_url("confirm_minutes"),
                                  stepup=True))
    return actions
