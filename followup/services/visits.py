"""Visit reports: the assigned mentor's report of each visit of the plan, and the at-risk
rules run on it.

Each visit is an audited state machine: planned → reported (the mentor's report) or
planned → cancelled (the project closed first). Only the mentor the visit is assigned
to reports it, visits in order, each once; a report that trips an at-risk rule is
signalled (``followup.signals.visit_at_risk``) for the apps above to act on.
"""

from django.utils import timezone
from django.utils.translation import gettext as _

from core.exceptions import InvalidInput, NotFound, TransitionNotAllowed
from core.transactions import service_transaction
from followup.models import FollowUpPlan, FollowUpVisit, VisitReport, VisitState
from followup.plan import (
    NotAssignedMentor,
    VisitAlreadyReported,
    VisitCancelled,
    VisitOutOfOrder,
    risk_reasons,
)
from followup.services.parsing import parse_report
from followup.signals import visit_at_risk
from ledger.transitions import apply_transition, check_permission
from workflow.locks import lock_project
from workflow.models import ProjectState


def _lock_visit(visit_id):
    try:
        visit_id = int(visit_id)
    except (TypeError, ValueError):
        raise NotFound() from None
    project_id = FollowUpVisit.objects.filter(pk=visit_id).values_list("project_id", flat=True).first()
    if project_id is None:
        raise NotFound()
    project = lock_project(project_id)  # project before visit, as every follow-up write
    visit = FollowUpVisit.objects.select_for_update(of=("self",)).select_related("plan").get(pk=visit_id)
    visit.project = project
    return visit


def previous_report(visit):
    return (
        VisitReport.objects.filter(visit__project_id=visit.project_id, visit__sequence__lt=visit.sequence)
        .order_by("-visit__sequence").first()
    )


@service_transaction
def visit_report(*, visit_id, actor, **data) -> VisitReport:
    """planned → reported: the assigned mentor's report of one visit.

    Fields: ``visited_on`` (not in the future, not before the launch nor the previous
    visit), ``activity_running`` (and ``stopped_reason`` when not), ``monthly_revenue``
    (≥ 0) and ``monthly_profit`` (MAD; negative for a loss, at most the revenue),
    ``jobs_created``, ``equipment_present`` / ``equipment_in_use``, ``legal_status``,
    ``sales_channels`` (several; at least one while the activity runs),
    ``income_control``, ``debts``, ``difficulties``, ``recommendation`` and an optional
    ``attachment`` (a PDF, JPEG or PNG by its content; a photo is re-encoded without its
    metadata, GPS position included; fingerprinted with the SHA-256 of the bytes stored).

    The at-risk rules (``followup.plan.risk_reasons``) run on the report and their
    reasons are stored with it and in the ledger entry. Visits are reported in order,
    each once.
    """
    check_permission(actor, "followup.report_visit")
    clean = parse_report(data)
    visit = _lock_visit(visit_id)
    if visit.mentor_id != actor.pk:
        raise NotAssignedMentor()
    if visit.state == VisitState.REPORTED:
        raise VisitAlreadyReported(params={"visit": visit.pk})
    if visit.state == VisitState.CANCELLED:
        raise VisitCancelled(params={"visit": visit.pk})
    project = visit.project
    if project.state != ProjectState.LAUNCHED:
        raise TransitionNotAllowed(_("Visits are reported while the project is launched."),
                                   params={"state": project.state})
    if FollowUpVisit.objects.filter(project_id=project.pk, sequence__lt=visit.sequence,
                                    state=VisitState.PLANNED).exists():
        raise VisitOutOfOrder(params={"visit": visit.pk})
    previous = previous_report(visit)
    earliest = previous.visited_on if previous else visit.plan.launched_on
    if clean["visited_on"] < earliest:
        raise InvalidInput(field_errors={"visited_on": [
            _("The visit date cannot be before %(date)s (the launch or the previous visit).")
            % {"date": earliest.isoformat()}
        ]})
    reasons = risk_reasons(
        activity_running=clean["activity_running"], equipment_present=clean["equipment_present"],
        monthly_revenue=clean["monthly_revenue"], recommendation=clean["recommendation"],
        previous_revenue=previous.monthly_revenue if previous else None,
    )
    attachment = clean.pop("attachment")
    now = timezone.now()
    report = VisitReport(visit=visit, risk_reasons=reasons, reported_by=actor, reported_at=now, **clean)
    if attachment is not None:
        report.attachment_sha256, report.attachment_name = attachment.sha256, attachment.name
        report.attachment.save(attachment.name, attachment.as_file(), save=False)
    report.save()
    visit.reported_at = now
    payload = {
        "project": project.pk, "sequence": visit.sequence, "visited_on": clean["visited_on"],
        "activity_running": clean["activity_running"], "monthly_revenue": clean["monthly_revenue"],
        "monthly_profit": clean["monthly_profit"], "jobs_created": clean["jobs_created"],
        "equipment_present": clean["equipment_present"], "equipment_in_use": clean["equipment_in_use"],
        "legal_status": clean["legal_status"], "recommendation": clean["recommendation"],
        "risk_reasons": reasons, "attachment_sha256": report.attachment_sha256,
    }
    apply_transition(visit, actor, "report_visit", payload=payload, fields=["reported_at"])
    # Visits are reported in order: this report is the plan's latest (the dashboard's
    # pointer), written in the same transaction, under the project's lock.
    FollowUpPlan.objects.filter(pk=visit.plan_id).update(
        latest_report=report, latest_at_risk=bool(reasons), latest_visited_on=report.visited_on)
    if reasons:
        visit_at_risk.send(sender=VisitReport, project=project, visit=visit, report=report)
    return report
