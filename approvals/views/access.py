"""Who may see which session, and in which capacity.

Program officers, auditors and administrators read every session (they hold
``approvals.view_vote``); committee members and chairs read the sessions of the
committees they sit on (held on a day their seat was held), and nothing else: another committee's session is a 404, so
its existence is not disclosed. Writing is the services' business: these checks only
decide what a page shows, the services check again.
"""


from django.contrib.auth.mixins import AccessMixin
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, Q
from django.db.models.functions import TruncDate
from django.http import Http404
from django.utils.translation import gettext_lazy as _

from approvals.actions import session_actions
from approvals.models import CommitteeMember, CommitteeSession
from approvals.selectors import membership
from core.views import next_url, with_next

READ_EVERY_SESSION = "approvals.view_vote"


def reads_every_session(user) -> bool:
    return user.has_perm(READ_EVERY_SESSION) or user.has_perm("approvals.manage_session")


def visible_sessions(user):
    sessions = CommitteeSession.objects.select_related("committee", "committee__program")
    if reads_every_session(user):
        return sessions
    if not user.has_perm("approvals.view_committeesession"):
        return sessions.none()
    # A member sees the sessions held on a day their seat was held.
    day = OuterRef("session_day")
    seat = CommitteeMember.objects.filter(
        Q(active_from__isnull=True) | Q(active_from__lte=day), Q(active_to__isnull=True) | Q(active_to__gte=day),
        committee_id=OuterRef("committee_id"), user=user, is_active=True,
    )
    return sessions.annotate(session_day=TruncDate("scheduled_for")).filter(Exists(seat))


def visible_session_or_404(user, pk) -> CommitteeSession:
    session = visible_sessions(user).filter(pk=pk).first()
    if session is None:
        raise Http404(_("No such session."))
    return session


class SessionPageMixin(AccessMixin):
    """Loads ``self.session`` (404 if the user may not see it), ``self.seat`` (the
    user's active seat on its committee, or None), then ``check_access``."""

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        self.session = visible_session_or_404(request.user, kwargs["pk"])
        self.seat = membership(self.session, request.user)
        self.check_access()
        return super().dispatch(request, *args, **kwargs)

    def check_access(self):
        """Raise ``PermissionDenied`` when the user may not use this page."""

    def deny(self, message):
        raise PermissionDenied(message)

    @property
    def is_chair(self) -> bool:
        return (self.seat is not None and self.seat.role == CommitteeMember.Role.CHAIR
                and self.request.user.has_perm("approvals.chair_session"))

    @property
    def is_voter(self) -> bool:
        return self.seat is not None and self.request.user.has_perm("approvals.vote_session")

    @property
    def is_officer(self) -> bool:
        return self.request.user.has_perm("approvals.manage_session")

    def get_context_data(self, **kwargs):
        kwargs.setdefault("session", self.session)
        kwargs.setdefault("seat", self.seat)
        kwargs.setdefault("is_chair", self.is_chair)
        kwargs.setdefault("is_voter", self.is_voter)
        kwargs.setdefault("is_officer", self.is_officer)
        back = next_url(self.request)
        actions = session_actions(self.session, self.request.user, seat=self.seat, back=back)
        kwargs.setdefault("session_actions", actions)
        # The header leads to the session's pages; the console offers opening and closing.
        kwargs.setdefault("session_pages", [a for a in actions if a.name not in ("open", "close")])
        # Where the page was opened from (the inbox): its forms carry it on, its header leads back.
        kwargs.setdefault("back", back)
        kwargs.setdefault("next_query", with_next("", back))
        return super().get_context_data(**kwargs)
