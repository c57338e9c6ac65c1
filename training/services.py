"""Writes of training: a program's training plan, sessions, and group attendance; and the
training attestation (a PDF made on demand from what is recorded, in Arabic or French).

Each public write runs in one durable transaction (``@service_transaction``), checks the
actor's permission first and raises only coded errors from ``core.exceptions``.
Attendance is not a state transition, so it writes no ledger entry; each row keeps who
recorded it and when, and it can only change while the project is ``in_training`` —
once training is signed off, what the sign-off relied on is frozen.

Locks: program (configuration) alone; session → its projects in id order (attendance).
``project_complete_training`` locks the project row, so a sign-off and a change of that
project's attendance never interleave.
"""

from datetime import date as date_type
from datetime import time as time_type
from decimal import Decimal, InvalidOperation

from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.dateparse import parse_date, parse_time
from django.utils.translation import gettext as _

from core.exceptions import InvalidInput, NotFound, PermissionDenied, TransitionNotAllowed
from core.input import require_text
from core.roles import Role, roles_of
from core.transactions import service_transaction
from ledger.models import AuditEntry
from ledger.transitions import check_permission
from training import flows
from training.attendance import attendance_facts, hours_text
from training.models import AttendanceRecord, ProgramModule, TrainingModule, TrainingSession
from training.selectors import training_progress
from workflow.facts import ATTENDANCE
from workflow.locks import lock_program, lock_project
from workflow.models import GrantProject, ProjectState
from workflow.places import place_names
from workflow.services import transition_project

MAX_SESSION_HOURS = Decimal("12")
MAX_PLANNED_HOURS = Decimal("999")


def parse_hours(value, field: str, *, maximum: Decimal) -> Decimal:
    """A positive number of hours with at most two decimals, at most ``maximum``."""
    try:
        hours = Decimal(str(value).strip().replace(",", "."))
    except (InvalidOperation, ValueError):
        raise InvalidInput(field_errors={field: [_("Enter a number of hours, e.g. 3 or 2.5.")]}) from None
    if not hours.is_finite() or hours.as_tuple().exponent < -2:
        raise InvalidInput(field_errors={field: [_("Enter a number of hours, e.g. 3 or 2.5.")]})
    if hours <= 0 or hours > maximum:
        raise InvalidInput(field_errors={field: [
            _("The number of hours must be greater than zero and at most %(max)s.") % {"max": maximum}
        ]})
    return hours.quantize(Decimal("0.01"))


def _module(value) -> TrainingModule | None:
    if isinstance(value, TrainingModule):
        return value
    return TrainingModule.objects.filter(code=str(value or "")).first()


def _collect(errors: dict, parse):
    """Run one field parser, keeping its field errors so every bad field is reported."""
    try:
        return parse()
    except InvalidInput as exc:
        for field, messages in exc.field_errors.items():
            errors.setdefault(field, []).extend(messages)
        return None


# --- Program configuration ----------------------------------------------------------


@service_transaction
def program_module_set(*, actor, program_id, module, planned_hours, mandatory=True) -> ProgramModule:
    """Put a catalog module in a program's training plan, or change its planned hours and
    whether it is mandatory.

    Program officer or administrator (``change_programmodule``, and ``add_programmodule``
    to add a module). Only an active catalog module can be added. Raises ``NotFound`` (program),
    ``PermissionDenied``, ``InvalidInput`` (``module``, ``planned_hours``, ``mandatory``).
    Mandatory modules and their hours are what ``complete_training`` checks from then on.
    """
    check_permission(actor, "training.change_programmodule")
    program = lock_program(program_id)
    errors = {}
    found = _module(module)
    hours = _collect(errors, lambda: parse_hours(planned_hours, "planned_hours", maximum=MAX_PLANNED_HOURS))
    if not isinstance(mandatory, bool):
        errors["mandatory"] = [_("Say whether the module is mandatory (yes or no).")]
    existing = ProgramModule.objects.filter(program=program, module=found).first() if found else None
    if found is None:
        errors["module"] = [_("Choose a module from the catalog.")]
    elif existing is None and not found.active:
        errors["module"] = [_("This module is no longer offered.")]
    if errors:
        raise InvalidInput(field_errors=errors)
    if existing is None:
        check_permission(actor, "training.add_programmodule")
        return ProgramModule.objects.create(program=program, module=found, mandatory=mandatory, planned_hours=hours)
    existing.mandatory, existing.planned_hours = mandatory, hours
    existing.save(update_fields=["mandatory", "planned_hours"])
    return existing


# --- Sessions -----------------------------------------------------------------------


def _parsed(parse, value):
    try:
        return parse(str(value or "").strip())
    except ValueError:  # well formed but impossible, e.g. 2025-02-30
        return None


def _is_trainer(user) -> bool:
    return user is not None and user.is_active and Role.TRAINER.value in roles_of(user)


@service_transaction
def training_session_create(*, actor, program_id, module, trainer, date, start_time, hours, place,
                            notes="") -> TrainingSession:
    """Schedule a training session of one module of a program's plan.

    Program officer (for any trainer) or trainer (for their own sessions: scheduling
    someone else's needs ``assign_trainer``). ``trainer`` must be an active user with the
    trainer role; ``module`` a catalog module (instance or code) in the program's plan.
    Raises ``NotFound`` (program), ``PermissionDenied``, ``InvalidInput`` listing every bad
    field (``module``, ``trainer``, ``date``, ``start_time``, ``hours``, ``place``, ``notes``).
    """
    check_permission(actor, "training.add_trainingsession")
    if trainer is not None and getattr(trainer, "pk", None) != actor.pk:
        check_permission(actor, "training.assign_trainer")
    program = lock_program(program_id)
    errors = {}
    found = _module(module)
    if found is None or not found.active:
        errors["module"] = [_("Choose a module from the catalog.")]
    elif not ProgramModule.objects.filter(program=program, module=found).exists():
        errors["module"] = [_("This module is not part of the program's training plan.")]
    if not isinstance(trainer, get_user_model()) or not _is_trainer(trainer):
        errors["trainer"] = [_("Choose an active user with the trainer role.")]
    day = date if isinstance(date, date_type) else _parsed(parse_date, date)
    if day is None:
        errors["date"] = [_("Enter a date, e.g. 2025-03-15.")]
    start = start_time if isinstance(start_time, time_type) else _parsed(parse_time, start_time)
    if start is None:
        errors["start_time"] = [_("Enter a time, e.g. 09:30.")]
    session_hours = _collect(errors, lambda: parse_hours(hours, "hours", maximum=MAX_SESSION_HOURS))
    session_place = _collect(errors, lambda: require_text(place, "place", max_length=200))
    session_notes = (notes or "").strip()
    if len(session_notes) > 2000:
        errors["notes"] = [_("At most %(n)d characters.") % {"n": 2000}]
    if errors:
        raise InvalidInput(field_errors=errors)
    session = TrainingSession.objects.create(
        program=program, module=found, trainer=trainer, date=day, start_time=start, hours=session_hours,
        place=session_place, notes=session_notes, created_by=actor,
    )
    flows.follow(session, "create", actor)  # the trainer's attendance task, from the session's day
    return session


# --- Attendance -----------------------------------------------------------------------


def lock_session(session_id) -> TrainingSession:
    try:
        return TrainingSession.objects.select_for_update().select_related("program", "module").get(pk=session_id)
    except (TrainingSession.DoesNotExist, ValueError, TypeError):
        raise NotFound() from None


def _project_ids(attendance, errors) -> dict:
    """{project_id: present} from the caller's mapping; bad keys and values go to ``errors``."""
    marks = {}
    for key, present in attendance.items():
        try:
            project_id = int(key)
        except (TypeError, ValueError):
            errors.setdefault("attendance", []).append(_("Unknown project: %(key)s.") % {"key": key})
            continue
        if not isinstance(present, bool):
            errors[f"attendance.{project_id}"] = [_("Mark the beneficiary present or absent.")]
            continue
        marks[project_id] = present
    return marks


@service_transaction
def training_record_attendance(*, session_id, actor, attendance) -> list[AttendanceRecord]:
    """Record who attended a session, for a whole group in one call.

    ``attendance`` maps project ids to ``True`` (present) or ``False`` (absent). Re-recording
    replaces: each named project's mark becomes the given one (an unchanged mark keeps its
    original ``recorded_by``/``recorded_at``); projects not named are left as they are.

    Only the session's own trainer may record (``add_attendancerecord`` and being the
    session's trainer), and only for a session that has taken place. Every named project
    must be of the session's program and in training (``in_training``): otherwise nothing
    is saved and ``InvalidInput`` names each refused project as ``attendance.<id>``.
    Raises ``NotFound`` (session), ``PermissionDenied``, ``InvalidInput``.
    Returns the records of the named projects, by project id.
    """
    check_permission(actor, "training.add_attendancerecord")
    session = lock_session(session_id)
    if session.trainer_id != actor.pk:
        raise PermissionDenied(_("Only the session's trainer records its attendance."))
    if not isinstance(attendance, dict) or not attendance:
        raise InvalidInput(field_errors={"attendance": [_("Mark at least one beneficiary present or absent.")]})
    if session.date > timezone.localdate():
        raise InvalidInput(field_errors={"__all__": [_("Attendance is recorded once the session has taken place.")]})
    errors = {}
    marks = _project_ids(attendance, errors)
    # Lock the projects (id order, after the session) so a sign-off of one of them waits.
    projects = {
        p.pk: p for p in GrantProject.objects.select_for_update(of=("self",))
        .filter(pk__in=list(marks)).order_by("pk")
    }
    for project_id in sorted(marks):
        project = projects.get(project_id)
        if project is None:
            errors[f"attendance.{project_id}"] = [_("This project does not exist.")]
        elif project.program_id != session.program_id:
            errors[f"attendance.{project_id}"] = [_("This project belongs to another program.")]
        elif project.state != ProjectState.IN_TRAINING:
            errors[f"attendance.{project_id}"] = [
                _("Only projects in training can have attendance recorded (this one is %(state)s).")
                % {"state": ProjectState(project.state).label}
            ]
    if errors:
        raise InvalidInput(field_errors=errors)
    now = timezone.now()
    existing = {r.project_id: r for r in AttendanceRecord.objects.filter(session=session, project_id__in=marks)}
    created, changed = [], []
    for project_id, present in marks.items():
        record = existing.get(project_id)
        if record is None:
            created.append(AttendanceRecord(
                session=session, project_id=project_id, present=present, recorded_by=actor, recorded_at=now,
            ))
        elif record.present != present:
            record.present, record.recorded_by, record.recorded_at = present, actor, now
            changed.append(record)
    AttendanceRecord.objects.bulk_create(created)
    AttendanceRecord.objects.bulk_update(changed, ["present", "recorded_by", "recorded_at"])
    flows.follow(session, "record_attendance", actor)  # the trainer's task is done
    return list(AttendanceRecord.objects.filter(session=session, project_id__in=marks).order_by("project_id"))


# --- Sign-off ---------------------------------------------------------------------------


@service_transaction
def project_complete_training(*, project_id, actor) -> GrantProject:
    """in_training → trained: training sign-off. Program officer; needs every mandatory
    module attended at the program's threshold (``guard_failed``,
    ``training_incomplete``, naming each module below it). The attendance is read under
    the project row lock, which attendance recording takes too."""
    project = lock_project(project_id)
    return transition_project(project, actor, "complete_training",
                              facts={ATTENDANCE: attendance_facts(project)})


# --- Attestation ----------------------------------------------------------------------


def _decimal_comma(hours: Decimal) -> str:
    return hours_text(hours).replace(".", ",")


ATTESTATION_LANGUAGES = ("ar", "fr")


def attestation_languages(beneficiary) -> list[str]:
    """The attestation's languages, the beneficiary's own first."""
    first = beneficiary.document_language if beneficiary.document_language in ATTESTATION_LANGUAGES else "ar"
    return [first, *(language for language in ATTESTATION_LANGUAGES if language != first)]


def attestation_context(project, language: str = "ar") -> dict:
    """What the attestation in ``language`` shows (place names in that language's
    script); raises ``TransitionNotAllowed`` (code ``training_not_completed``) if the
    project's training was never signed off."""
    signoff = (
        AuditEntry.objects.for_entity(project).filter(transition="complete_training").order_by("seq").last()
    )
    if signoff is None:
        raise TransitionNotAllowed(
            _("The attestation is issued once the training is signed off."),
            code="training_not_completed", params={"state": project.state},
        )
    lines = [
        {
            "module": row.module, "mandatory": row.mandatory,
            "attended": _decimal_comma(row.attended_hours), "planned": _decimal_comma(row.planned_hours),
        }
        for row in training_progress(project, include_optional=True)
        if row.mandatory or row.attended_hours > 0
    ]
    beneficiary = project.beneficiary
    return {
        "project": project, "beneficiary": beneficiary, "program": project.program,
        "places": place_names(commune=beneficiary.commune, province=project.program.province, language=language),
        "lines": lines, "completed_on": timezone.localdate(signoff.created_at),
        "issued_on": timezone.localdate(), "language": language,
    }


def training_attestation_pdf(project, language: str | None = None) -> bytes:
    """The training attestation of ``project`` in ``language`` (``ar``, right to left, or
    ``fr``; by default the beneficiary's language) as PDF bytes, wholly in that language:
    the beneficiary's names, her commune and the province in its script, the program,
    each module with the hours attended and planned, the sign-off date and the issue date.

    Made on demand and stored nowhere; it writes nothing, so it needs no transaction. The
    caller checks who may download it. The training must have been signed off
    (``complete_training`` is in the project's audit chain: trained or any later state,
    even if later withdrawn or suspended); otherwise ``TransitionNotAllowed`` with code
    ``training_not_completed``; another language: ``InvalidInput`` on ``lang``.
    """
    if language is None:
        language = attestation_languages(project.beneficiary)[0]
    if language not in ATTESTATION_LANGUAGES:
        raise InvalidInput(field_errors={"lang": [_("The attestation exists in Arabic (ar) and French (fr).")]})
    context = attestation_context(project, language)
    try:
        from weasyprint import HTML
    except (ImportError, OSError) as exc:  # Pango missing on the machine
        raise ImproperlyConfigured(
            "Generating the attestation needs WeasyPrint and Pango (Debian: libpango-1.0-0, fonts-dejavu-core)."
        ) from exc
    with translation.override(language):
        part = render_to_string(f"training/attestation_{language}.html", context)
        html = render_to_string("training/attestation.html", {"parts": [part], "project": project,
                                                              "language": language})
    return HTML(string=html).write_pdf()
