"""Writes of post-launch follow-up: the plan made at launch, the mentor's assignment,
visit reports, and what closing a project does to its plan.

The plan is created inside the launch transaction (``project_launch`` calls
``create_followup_plan``): a launched project always has its plan, with no worker
needed, and a second call creates nothing (one plan per project, one visit per
(project, sequence)). Reminders of due visits are the periodic tasks' business.
``project_close`` hands the plan's progress to the ``close`` guard
(``workflow.facts.FollowUpProgress``) and settles the visits left.

Each visit is an audited state machine: planned → reported (the mentor's report) or
planned → cancelled (the project closed first). Its chain opens with ``create`` when
the plan is made, so ``manage.py audit verify`` replays it like any other machine.

Who reports: only the mentor the visit is assigned to. A report is the mentor's own
observation on site, so a program officer does not report on their behalf; the
officer reassigns the mentor instead (``project_assign_mentor``), which moves the
visits not yet reported to the new mentor.
"""

import hashlib
from datetime import date as date_type

from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _

from core.exceptions import InvalidInput, NotFound, TransitionNotAllowed
from core.input import parse_money, require_text
from core.roles import Role, role_for, roles_of
from core.transactions import service_transaction
from followup.models import (
    EquipmentRecovery,
    FollowUpPlan,
    FollowUpVisit,
    IncomeControl,
    LegalStatus,
    Recommendation,
    SalesChannel,
    VisitReport,
    VisitState,
)
from followup.plan import (
    NotAssignedMentor,
    VisitAlreadyReported,
    VisitCancelled,
    VisitOutOfOrder,
    due_dates,
    followup_progress,
    risk_reasons,
)
from followup.signals import visit_at_risk
from ledger.entries import HEAD_FIELDS, record_transition
from ledger.transitions import apply_transition, check_permission
from workflow.facts import FOLLOWUP
from workflow.locks import lock_project
from workflow.models import GrantProject, Outcome, ProjectState
from workflow.services import transition_project

MAX_TEXT = 2000
MAX_JOBS = 999


# --- The plan ---------------------------------------------------------------------------


def mentor_at_launch(project, actor) -> list[str]:
    """A project launched by a mentor, with no mentor yet, is followed by that mentor.
    Returns the fields to save with the launch."""
    if project.mentor_id is None and actor is not None and Role.MENTOR.value in roles_of(actor):
        project.mentor = actor
        return ["mentor"]
    return []


def create_followup_plan(project, actor) -> FollowUpPlan:
    """Create ``project``'s plan from its program's offsets, counted from today, with one
    audited visit per offset assigned to the project's mentor. Joins the caller's
    transaction, which holds the project row lock. Idempotent: an existing plan is
    returned as it is."""
    existing = FollowUpPlan.objects.filter(project_id=project.pk).first()
    if existing is not None:
        return existing
    offsets = sorted({int(m) for m in project.program.followup_offsets})
    plan = FollowUpPlan.objects.create(
        project=project, launched_on=timezone.localdate(), offsets=offsets, created_by=actor,
    )
    perm = "workflow.launch_project"
    role = role_for(actor, perm)
    for sequence, months, due_on in due_dates(plan.launched_on, offsets):
        visit = FollowUpVisit.objects.create(
            plan=plan, project=project, sequence=sequence, offset_months=months, due_on=due_on,
            mentor_id=project.mentor_id,
        )
        record_transition(
            entity=visit, transition="create", from_state="", to_state=visit.state, actor=actor, role=role,
            payload={"project": project.pk, "sequence": sequence, "months": months, "due_on": due_on,
                     "mentor": project.mentor_id},
        )
        visit.save(update_fields=list(HEAD_FIELDS))
    return plan


@service_transaction
def project_launch(*, project_id, actor, note="") -> GrantProject:
    """equipped → launched. Mentor or program officer. A mentor launching a project with
    no mentor becomes its mentor; the follow-up plan is made in the same transaction."""
    project = lock_project(project_id)
    fields = mentor_at_launch(project, actor)
    transition_project(project, actor, "launch", payload={"note": (note or "").strip()}, fields=fields)
    create_followup_plan(project, actor)
    return project


@service_transaction
def followup_plan_create(*, project_id, actor) -> FollowUpPlan:
    """Create the follow-up plan of a launched project that has none (a project launched
    before plans existed). Program officer or mentor. Idempotent."""
    check_permission(actor, "workflow.launch_project")
    project = lock_project(project_id)
    if project.state != ProjectState.LAUNCHED:
        raise TransitionNotAllowed(_("A follow-up plan is made for a launched project."),
                                   params={"state": project.state})
    return create_followup_plan(project, actor)


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


# --- Visit reports ----------------------------------------------------------------------


def _collect(errors, field, parse):
    try:
        return parse()
    except InvalidInput as exc:
        for name, messages in exc.field_errors.items():
            errors.setdefault(name, []).extend(messages)
        return None


def _fail(field, message):
    raise InvalidInput(field_errors={field: [message]})


def parse_yes_no(value, field):
    if isinstance(value, bool):
        return value
    text = str(value if value is not None else "").strip().lower()
    if text in ("1", "true", "yes", "on", "y"):
        return True
    if text in ("0", "false", "no", "off", "n"):
        return False
    _fail(field, _("Answer yes or no."))


def parse_signed_money(value, field):
    """A MAD amount that may be negative (a loss), at most two decimals."""
    if isinstance(value, float):
        _fail(field, _("Amounts must be given as decimals, not floats."))
    text = str(value if value is not None else "").strip().replace(" ", "").replace(",", ".")
    negative = text.startswith("-")
    magnitude = parse_money(text[1:] if negative else text, field, allow_zero=True)
    return -magnitude if negative else magnitude


def parse_count(value, field, maximum):
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        number = -1
    if number < 0 or number > maximum:
        _fail(field, _("Enter a whole number between 0 and %(max)d.") % {"max": maximum})
    return number


def parse_choice(value, field, choices):
    value = str(value or "").strip()
    if value not in choices.values:
        _fail(field, _("Choose a value from the list."))
    return value


def parse_visit_date(value, field):
    if isinstance(value, date_type):
        day = value
    else:
        try:
            day = parse_date(str(value or "").strip())
        except ValueError:
            day = None
    if day is None:
        _fail(field, _("Enter a date, e.g. 2026-03-15."))
    if day > timezone.localdate():
        _fail(field, _("The visit date cannot be in the future."))
    return day


def _parse_report(data: dict) -> dict:
    """Every field of a visit report, parsed; every bad field is reported at once."""
    errors: dict = {}
    clean = {}
    clean["visited_on"] = _collect(errors, "visited_on", lambda: parse_visit_date(data.get("visited_on"), "visited_on"))
    running = _collect(errors, "activity_running",
                       lambda: parse_yes_no(data.get("activity_running"), "activity_running"))
    clean["activity_running"] = running
    reason = (data.get("stopped_reason") or "").strip()
    if running is False and not reason:
        errors.setdefault("stopped_reason", []).append(_("Say why the activity is not running."))
    if len(reason) > MAX_TEXT:
        errors.setdefault("stopped_reason", []).append(_("At most %(n)d characters.") % {"n": MAX_TEXT})
    clean["stopped_reason"] = reason if running is False else ""
    clean["monthly_revenue"] = _collect(
        errors, "monthly_revenue", lambda: parse_money(data.get("monthly_revenue"), "monthly_revenue", allow_zero=True)
    )
    clean["monthly_profit"] = _collect(
        errors, "monthly_profit", lambda: parse_signed_money(data.get("monthly_profit"), "monthly_profit")
    )
    if (clean["monthly_revenue"] is not None and clean["monthly_profit"] is not None
            and clean["monthly_profit"] > clean["monthly_revenue"]):
        errors.setdefault("monthly_profit", []).append(_("The profit cannot exceed the revenue."))
    clean["jobs_created"] = _collect(
        errors, "jobs_created", lambda: parse_count(data.get("jobs_created", 0), "jobs_created", MAX_JOBS)
    )
    present = _collect(errors, "equipment_present",
                       lambda: parse_yes_no(data.get("equipment_present"), "equipment_present"))
    in_use = _collect(errors, "equipment_in_use",
                      lambda: parse_yes_no(data.get("equipment_in_use"), "equipment_in_use"))
    if present is False and in_use:
        errors.setdefault("equipment_in_use", []).append(_("Equipment that is not present cannot be in use."))
    clean["equipment_present"], clean["equipment_in_use"] = present, in_use
    clean["legal_status"] = _collect(
        errors, "legal_status", lambda: parse_choice(data.get("legal_status"), "legal_status", LegalStatus)
    )
    channels = data.get("sales_channels") or []
    if isinstance(channels, str):
        channels = [channels]
    channels = [str(c).strip() for c in channels]
    if any(c not in SalesChannel.values for c in channels):
        errors.setdefault("sales_channels", []).append(_("Choose sales channels from the list."))
    elif running and not channels:
        errors.setdefault("sales_channels", []).append(_("Choose at least one sales channel."))
    clean["sales_channels"] = [c for c in SalesChannel.values if c in channels]
    clean["income_control"] = _collect(
        errors, "income_control",
        lambda: parse_choice(data.get("income_control") or IncomeControl.BENEFICIARY, "income_control",
                             IncomeControl),
    )
    debts = data.get("debts")
    clean["debts"] = _collect(
        errors, "debts",
        lambda: parse_money("0" if debts in (None, "") else debts, "debts", allow_zero=True),
    )
    difficulties = (data.get("difficulties") or "").strip()
    if len(difficulties) > MAX_TEXT:
        errors.setdefault("difficulties", []).append(_("At most %(n)d characters.") % {"n": MAX_TEXT})
    clean["difficulties"] = difficulties
    clean["recommendation"] = _collect(
        errors, "recommendation",
        lambda: parse_choice(data.get("recommendation"), "recommendation", Recommendation),
    )
    attachment = data.get("attachment")
    if attachment is not None:
        if not attachment.size:
            errors.setdefault("attachment", []).append(_("The file is empty."))
        elif attachment.size > settings.TAMKEEN_MAX_DOCUMENT_BYTES:
            errors.setdefault("attachment", []).append(
                _("The file is larger than %(mb)d MB.") % {"mb": settings.TAMKEEN_MAX_DOCUMENT_BYTES // 2**20}
            )
    clean["attachment"] = attachment
    if errors:
        raise InvalidInput(field_errors=errors)
    return clean


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
    ``attachment`` (a photo or document, fingerprinted with SHA-256).

    The at-risk rules (``followup.plan.risk_reasons``) run on the report and their
    reasons are stored with it and in the ledger entry. Visits are reported in order,
    each once.
    """
    check_permission(actor, "followup.report_visit")
    clean = _parse_report(data)
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
        digest = hashlib.sha256()
        for chunk in attachment.chunks():
            digest.update(chunk)
        report.attachment_sha256 = digest.hexdigest()
        report.attachment_name = attachment.name[:255]
        attachment.seek(0)
        report.attachment.save(attachment.name, attachment, save=False)
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
    if reasons:
        visit_at_risk.send(sender=VisitReport, project=project, visit=visit, report=report)
    return report


# --- Closure ----------------------------------------------------------------------------


def parse_recovery(outcome, recovery) -> dict | None:
    """The equipment recovered at an abandonment: ``{"items", "value", "note"}`` or None."""
    if not recovery:
        return None
    if not any(str(recovery.get(k) or "").strip() for k in ("items", "value", "note")):
        return None
    if outcome != Outcome.ABANDONED:
        raise InvalidInput(field_errors={"recovered_items": [
            _("Equipment is recovered only when the project is abandoned.")
        ]})
    errors: dict = {}
    items = _collect(errors, "recovered_items",
                     lambda: require_text(recovery.get("items"), "recovered_items", max_length=MAX_TEXT))
    value = _collect(errors, "recovered_value",
                     lambda: parse_money(recovery.get("value") or "0", "recovered_value", allow_zero=True))
    note = (recovery.get("note") or "").strip()
    if len(note) > MAX_TEXT:
        errors.setdefault("recovery_note", []).append(_("At most %(n)d characters.") % {"n": MAX_TEXT})
    if errors:
        raise InvalidInput(field_errors=errors)
    return {"items": items, "value": value, "note": note}


@service_transaction
def project_close(*, project_id, actor, outcome, reason="", recovery=None) -> GrantProject:
    """launched → closed with an outcome (success, failed, abandoned). Program officer.
    Needs the follow-up plan finished, or an abandonment reason (``guard_failed``,
    ``followup_incomplete``). An abandonment can record the equipment recovered
    (``recovery={"items", "value", "note"}``); visits not yet made are cancelled."""
    if outcome not in Outcome.values:
        raise InvalidInput(field_errors={"outcome": [_("Choose success, failed or abandoned.")]})
    reason = (reason or "").strip()
    if outcome == Outcome.ABANDONED:
        reason = require_text(reason, "reason")
    recovered = parse_recovery(outcome, recovery)
    project = lock_project(project_id)
    project.outcome, project.closure_reason = outcome, reason
    payload = {"outcome": outcome, "reason": reason}
    if recovered is not None:
        payload["recovery"] = recovered
    transition_project(project, actor, "close", payload=payload, fields=["outcome", "closure_reason"],
                       facts={FOLLOWUP: followup_progress(project)})
    close_followup(project, actor, outcome, recovered)
    return project


def close_followup(project, actor, outcome, recovery: dict | None) -> None:
    """After ``close`` (same transaction, project locked): cancel the visits that will
    not take place (an abandonment before the plan's end) and record the equipment
    recovered."""
    for visit in FollowUpVisit.objects.select_for_update().filter(project_id=project.pk,
                                                                  state=VisitState.PLANNED):
        apply_transition(visit, actor, "cancel", payload={"project": project.pk, "outcome": outcome})
    if recovery is not None:
        EquipmentRecovery.objects.create(
            project=project, items=recovery["items"], value=recovery["value"], note=recovery["note"],
            recorded_by=actor, recorded_at=timezone.now(),
        )


__all__ = [
    "close_followup", "create_followup_plan", "followup_plan_create", "mentor_at_launch", "parse_recovery",
    "project_assign_mentor", "project_close", "project_launch", "visit_report",
]
