"""A committee's members and chair act on their own committee's sessions (``core.scopes``).

Who sits on which day, who is present and who declared an interest are the sessions'
own rules (``approvals.services``); this is the first gate: a seat on the committee.
"""

from django.utils.translation import gettext_lazy as _

from core import scopes
from core.roles import Role


def seated(user, session, perm=None) -> bool:
    return session.committee.members.filter(user_id=user.pk, is_active=True).exists()


def register_scopes():
    scopes.register("approvals.committeesession",
                    limits={Role.COMMITTEE_MEMBER: seated, Role.COMMITTEE_CHAIR: seated},
                    message=_("You do not sit on this session's committee."), code="not_on_committee")
