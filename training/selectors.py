"""Reads of training: a project's progress per module, the projects whose training can be
signed off, those signed off (with an attestation), a session's roster (the group attendance form) and a trainer's sessions.

Nothing here writes. The rule itself (threshold on hours) is in ``training.attendance``.
"""

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import DecimalField, QuerySet, Sum

from ledger.models import AuditEntry, entity_type_of
from training.attendance import attended_percent, threshold_met
from training.models import AttendanceRecord, ProgramModule, TrainingModule, TrainingSession
from workflow.models import GrantProject, Program, ProjectState

ZERO_HOURS = Decimal("0.00")
HOURS_STEP = Decimal("0.01")


@dataclass(frozen=True)
class ModuleProgress:
    module: TrainingModule
    mandatory: bool
    planned_hours: Decimal
    attended_hours: Decimal
    percent: Decimal  # of the planned hours, rounded down to 0.1
    threshold: int  # the program's, in percent
    met: bool


def _attended_hours(program_id, project_ids) -> dict:
    """{(project_id, module_id): hours attended} in one query."""
    rows = (
        AttendanceRecord.objects.filter(
            project_id__in=project_ids, present=True, session__program_id=program_id
        )
        .values_list("project_id", "session__module_id")
        # A sum outgrows the per-session column (4 digits): give it room of its own.
        .annotate(hours=Sum("session__hours", output_field=DecimalField(max_digits=9, decimal_places=2)))
    )
    # Quantized here: backends return sums at different scales (SQLite "12", PostgreSQL "12.00").
    return {(project_id, module_id): hours.quantize(HOURS_STEP) for project_id, module_id, hours in rows}


def _progress(plan, program, attended: dict, project_id) -> list[ModuleProgress]:
    rows = []
    for item in plan:
        hours = attended.get((project_id, item.module_id), ZERO_HOURS)
        rows.append(ModuleProgress(
            module=item.module, mandatory=item.mandatory, planned_hours=item.planned_hours,
            attended_hours=hours, percent=attended_percent(hours, item.planned_hours),
            threshold=program.training_threshold,
            met=threshold_met(hours, item.planned_hours, program.training_threshold),
        ))
    return rows


def _training_plan(program, *, include_optional):
    plan = ProgramModule.objects.filter(program=program).select_related("module")
    if not include_optional:
        plan = plan.filter(mandatory=True)
    # Mandatory modules first, then by French name: a stable order for pages and the PDF.
    return list(plan.order_by("-mandatory", "module__name_fr"))


def training_progress(project, *, include_optional=False) -> list[ModuleProgress]:
    """Per module of the project's program (mandatory ones; optional ones too if asked):
    hours attended / planned, percent, and whether the threshold is met. Two queries."""
    program = project.program
    plan = _training_plan(program, include_optional=include_optional)
    if not plan:
        return []
    return _progress(plan, program, _attended_hours(program.pk, [project.pk]), project.pk)


def projects_ready_for_training_signoff(program: Program) -> list[GrantProject]:
    """The program's projects in training whose every mandatory module is attended at the
    threshold: ``complete_training`` is available for them (the grant flow's training
    sign-off task waits on the program officer). Three queries, whatever the number."""
    projects = list(
        GrantProject.objects.filter(program=program, state=ProjectState.IN_TRAINING)
        .select_related("beneficiary")
        .order_by("pk")
    )
    plan = _training_plan(program, include_optional=False)
    if not plan or not projects:
        return projects
    attended = _attended_hours(program.pk, [p.pk for p in projects])
    return [
        project for project in projects
        if all(row.met for row in _progress(plan, program, attended, project.pk))
    ]


@dataclass(frozen=True)
class RosterLine:
    project: GrantProject
    present: bool | None  # None: not recorded yet


def session_roster(session: TrainingSession) -> list[RosterLine]:
    """Who may be marked for this session (the program's projects in training, by
    beneficiary name) with what is recorded so far: the trainer's group form."""
    recorded = dict(
        AttendanceRecord.objects.filter(session=session).values_list("project_id", "present")
    )
    projects = (
        GrantProject.objects.filter(program_id=session.program_id, state=ProjectState.IN_TRAINING)
        .select_related("beneficiary")
        .order_by("beneficiary__last_name", "beneficiary__first_name", "pk")
    )
    return [RosterLine(project=p, present=recorded.get(p.pk)) for p in projects]


def trainer_sessions(trainer) -> QuerySet[TrainingSession]:
    """The sessions a trainer gives, most recent first."""
    return TrainingSession.objects.filter(trainer=trainer).select_related("program", "module")



def program_plan(program) -> list[ProgramModule]:
    """The program's training plan, mandatory modules first, then by name."""
    return _training_plan(program, include_optional=True)


def trained_projects(program: Program) -> list[GrantProject]:
    """The projects of ``program`` whose training was signed off (``complete_training``
    in their audit chain, whatever happened to them since): those with an attestation."""
    ids = [str(pk) for pk in GrantProject.objects.filter(program=program).values_list("pk", flat=True)]
    signed_off = set(
        AuditEntry.objects.filter(entity_type=entity_type_of(GrantProject), transition="complete_training",
                                  entity_id__in=ids).values_list("entity_id", flat=True)
    )
    return list(
        GrantProject.objects.filter(pk__in=[int(pk) for pk in signed_off])
        .select_related("beneficiary", "program")
        .order_by("beneficiary__last_name", "beneficiary__first_name", "pk")
    )
