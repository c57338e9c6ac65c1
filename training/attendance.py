"""Training completion: the rule behind the guard of ``complete_training``.

Training owns attendance, so it computes the fact the guard reads
(``attendance_facts``: ``workflow.facts.TrainingAttendance``) and the sign-off
(``training.services.project_complete_training``) hands it to the transition.

A project's training is complete when, for every **mandatory** module of its program
(``ProgramModule.mandatory``), the hours of the sessions its beneficiary attended reach
the program's threshold (``Program.training_threshold``, a percentage) of that module's
planned hours (``ProgramModule.planned_hours``):

    attended_hours × 100 ≥ threshold × planned_hours

The comparison is exact (Decimal, no rounding): 15.99 h of 20 h at 80 % is not enough,
16 h is. Hours rather than sessions, because sessions of one module differ in length (a
two-hour evening class and a six-hour workshop day must not weigh the same). Optional
modules are shown in the progress but never block; a program with no mandatory module
has nothing to attend, so the rule holds.
"""

from decimal import ROUND_DOWN, Decimal

from django.utils.translation import gettext as _

from workflow.facts import TrainingAttendance

PERCENT_STEP = Decimal("0.1")


def threshold_met(attended_hours: Decimal, planned_hours: Decimal, threshold: int) -> bool:
    return attended_hours * 100 >= Decimal(threshold) * planned_hours


def attended_percent(attended_hours: Decimal, planned_hours: Decimal) -> Decimal:
    """The share of the planned hours attended, rounded *down* to 0.1 %, so a figure shown
    as reaching the threshold always does."""
    return (attended_hours * 100 / planned_hours).quantize(PERCENT_STEP, rounding=ROUND_DOWN)


def modules_below_threshold(project) -> list:
    """The ``ModuleProgress`` of each mandatory module not yet attended at the threshold."""
    from training.selectors import training_progress

    return [row for row in training_progress(project) if not row.met]


def attendance_met(project) -> bool:
    """True when every mandatory module of the program is attended at its threshold."""
    return not modules_below_threshold(project)


def hours_text(hours: Decimal) -> str:
    """12.00 → "12", 7.50 → "7.5" (the caller localises the decimal mark if it needs to)."""
    return f"{hours.normalize():f}"


def attendance_facts(project) -> TrainingAttendance:
    """What the guard of ``complete_training`` reads: whether every mandatory module is
    attended at the threshold and, if not, the shortfall."""
    missing = modules_below_threshold(project)
    return TrainingAttendance(project_id=project.pk, met=not missing,
                              shortfall=_shortfall_text(project, missing) if missing else "")


def attendance_shortfall(project) -> str:
    """The guard's failure detail: which mandatory modules are below the threshold, by
    how much."""
    return _shortfall_text(project, modules_below_threshold(project))


def _shortfall_text(project, missing) -> str:
    modules = "; ".join(
        _("%(module)s (%(attended)s of %(planned)s h, %(percent)s %%)") % {
            "module": row.module.name, "attended": hours_text(row.attended_hours),
            "planned": hours_text(row.planned_hours), "percent": row.percent,
        }
        for row in missing
    )
    return _("Mandatory modules below the %(threshold)s %% attendance threshold: %(modules)s.") % {
        "threshold": project.program.training_threshold, "modules": modules,
    }
