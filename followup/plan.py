"""Post-launch follow-up: the rules read by the ``close`` guard (handed to it by
``followup.services.project_close`` as ``followup_progress``), the at-risk rules and
the coded errors of follow-up.

The plan, its visits and their reports are in ``followup.models``; writes go
through ``followup.services``; reads for screens and dashboards through
``followup.selectors``.
"""

from datetime import date

from dateutil.relativedelta import relativedelta
from django.utils.translation import gettext_lazy as _

from core.exceptions import PermissionDenied, TransitionNotAllowed
from workflow.facts import FollowUpProgress


class VisitAlreadyReported(TransitionNotAllowed):
    code = "visit_already_reported"
    default_message = _("This visit is already reported; a visit is reported once.")


class VisitOutOfOrder(TransitionNotAllowed):
    code = "visit_out_of_order"
    default_message = _("Report the earlier visits of the plan first.")


class VisitCancelled(TransitionNotAllowed):
    code = "visit_cancelled"
    default_message = _("This visit was cancelled when the project was closed.")


class NotAssignedMentor(PermissionDenied):
    code = "not_assigned_mentor"
    default_message = _("Only the mentor assigned to this visit can report it.")


class NoFollowUpPlan(TransitionNotAllowed):
    code = "no_followup_plan"
    default_message = _("This project has no follow-up plan.")


def due_dates(launched_on: date, offsets) -> list[tuple[int, int, date]]:
    """[(sequence, months, due date)] for a plan counted from ``launched_on``. Offsets are
    sorted and deduplicated; a month-end launch keeps the month's last day."""
    months = sorted({int(m) for m in offsets})
    return [(i, m, launched_on + relativedelta(months=m)) for i, m in enumerate(months, start=1)]


def followup_complete(project) -> bool:
    """True when the project has a follow-up plan and every visit of it is reported."""
    from followup.models import FollowUpPlan, VisitState

    plan = FollowUpPlan.objects.filter(project_id=project.pk).first()
    if plan is None:
        return False
    states = list(plan.visits.values_list("state", flat=True))
    return bool(states) and all(state == VisitState.REPORTED for state in states)


def followup_progress(project) -> FollowUpProgress:
    """What the guard of ``close`` reads: whether the follow-up plan is finished."""
    return FollowUpProgress(project_id=project.pk, finished=followup_complete(project))


def risk_reasons(*, activity_running, equipment_present, monthly_revenue, recommendation,
                 previous_revenue=None) -> list[str]:
    """The at-risk rules applied to one visit report (``RiskReason`` values, in order):
    the activity stopped, the equipment is missing, the revenue fell since the previous
    reported visit (strictly lower), or the mentor recommends treating it as at risk."""
    from followup.models import Recommendation, RiskReason

    reasons = []
    if not activity_running:
        reasons.append(RiskReason.ACTIVITY_STOPPED.value)
    if not equipment_present:
        reasons.append(RiskReason.EQUIPMENT_MISSING.value)
    if previous_revenue is not None and monthly_revenue < previous_revenue:
        reasons.append(RiskReason.REVENUE_FALLING.value)
    if recommendation == Recommendation.AT_RISK:
        reasons.append(RiskReason.MENTOR_AT_RISK.value)
    return reasons
