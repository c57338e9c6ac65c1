"""Who follows a launched project: its mentor, assigned or changed by a program officer.

A visit report is the mentor's own observation on site, so a program officer does not
report on their behalf; the officer reassigns the mentor instead, which moves the
visits not yet reported to the new mentor.
"""

from django.contrib.auth import get_user_model
from django.utils.translation import gettext as _

from core.exceptions import InvalidInput, TransitionNotAllowed
from core.roles import Role, roles_of
from core.transactions import service_transaction
from followup.models import FollowUpVisit, VisitState
from ledger.transitions import check_permission
from workflow.locks import lock_project
from workflow.models import GrantProject


def _mentor_user(mentor_id):
    User = get_user_model()
    try:
        user = User.objects.get(pk=int(mentor_id), is_active=True)
    except (TypeError, ValueError, User.DoesNotExist):
        user = None
    if user is None or Role.MENTOR.value not in roles_of(user):
        raise InvalidInput(field_errors={"mentor": [_("Choose an active user with the mentor role.")]})
    return user


@service_transaction
def project_assign_mentor(*, project_id, actor, mentor_id) -> GrantProject:
    """Assign (or change) the project's mentor. Program officer. The visits not yet
    reported move to the new mentor; reported ones keep who reported them."""
    check_permission(actor, "followup.assign_mentor")
    mentor = _mentor_user(mentor_id)
    project = lock_project(project_id)
    if project.is_terminal:
        raise TransitionNotAllowed(_("The mentor of a closed file cannot change."),
                                   params={"state": project.state})
    project.mentor = mentor
    project.save(update_fields=["mentor", "updated_at"])
    FollowUpVisit.objects.filter(project_id=project.pk, state=VisitState.PLANNED).update(mentor=mentor)
    return project
