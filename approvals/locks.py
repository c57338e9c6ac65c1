"""Row locks for committee review. Order: session → program (envelope) → project."""

from approvals.models import AgendaItem, CommitteeSession
from core.exceptions import NotFound


def lock_session(session_id) -> CommitteeSession:
    try:
        return (
            CommitteeSession.objects.select_for_update(of=("self",))
            .select_related("committee", "committee__program")
            .get(pk=session_id)
        )
    except CommitteeSession.DoesNotExist:
        raise NotFound() from None


def lock_item_session(item_id) -> tuple[AgendaItem, CommitteeSession]:
    """Lock the item's session (votes and declarations serialise per session)."""
    session_id = AgendaItem.objects.filter(pk=item_id).values_list("session_id", flat=True).first()
    if session_id is None:
        raise NotFound()
    session = lock_session(session_id)
    item = AgendaItem.objects.select_related("project", "project__program").get(pk=item_id)
    return item, session
