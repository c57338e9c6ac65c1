"""Training: the module catalog, each program's modules, sessions and attendance.

The catalog (``TrainingModule``) is reference data seeded by a data migration. Which
modules a program requires, and how many hours each is planned for, is configuration
(``ProgramModule``); the attendance threshold is ``Program.training_threshold``. The
rule that reads them lives in ``training.attendance``.

Attendance is not a state transition: it leaves no ledger entry, but every row says
who recorded it and when, and it can only change while the project is in training.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _


class TrainingModule(models.Model):
    code = models.SlugField(_("code"), max_length=60, unique=True)
    name_fr = models.CharField(_("name (French)"), max_length=120)
    name_ar = models.CharField(_("name (Arabic)"), max_length=120)
    name_en = models.CharField(_("name (English)"), max_length=120)
    description = models.TextField(_("description"), blank=True)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        db_table = "workflow_trainingmodule"  # the table it had before the app split
        ordering = ["name_fr"]
        verbose_name = _("training module")
        verbose_name_plural = _("training modules")

    def __str__(self):
        return self.name

    @property
    def name(self):
        lang = (get_language() or "")[:2]
        return {"ar": self.name_ar, "en": self.name_en}.get(lang, self.name_fr)


class ProgramModule(models.Model):
    """A module of a program's training plan: mandatory or not, and its planned hours
    (the base of the attendance threshold)."""

    program = models.ForeignKey(
        "workflow.Program", on_delete=models.CASCADE, related_name="training_modules",
        verbose_name=_("program"),
    )
    module = models.ForeignKey(
        TrainingModule, on_delete=models.PROTECT, related_name="programs", verbose_name=_("module"),
    )
    mandatory = models.BooleanField(_("mandatory"), default=True)
    planned_hours = models.DecimalField(_("planned hours"), max_digits=5, decimal_places=2)

    class Meta:
        db_table = "workflow_programmodule"  # the table it had before the app split
        ordering = ["program", "module__name_fr"]
        verbose_name = _("module of a program")
        verbose_name_plural = _("modules of a program")
        constraints = [
            models.UniqueConstraint(fields=["program", "module"], name="programmodule_once_per_program"),
            models.CheckConstraint(condition=Q(planned_hours__gt=0), name="programmodule_hours_positive"),
        ]

    def __str__(self):
        return f"{self.program} — {self.module}"


class TrainingSession(models.Model):
    program = models.ForeignKey(
        "workflow.Program", on_delete=models.PROTECT, related_name="training_sessions",
        verbose_name=_("program"),
    )
    module = models.ForeignKey(
        TrainingModule, on_delete=models.PROTECT, related_name="sessions", verbose_name=_("module"),
    )
    trainer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="training_sessions",
        verbose_name=_("trainer"),
    )
    date = models.DateField(_("date"))
    start_time = models.TimeField(_("start time"))
    hours = models.DecimalField(_("hours"), max_digits=4, decimal_places=2)
    place = models.CharField(_("place"), max_length=200)
    notes = models.TextField(_("notes"), blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "workflow_trainingsession"  # the table it had before the app split
        ordering = ["-date", "-start_time", "-pk"]
        verbose_name = _("training session")
        verbose_name_plural = _("training sessions")
        permissions = [("assign_trainer", "Can schedule a training session for any trainer")]
        constraints = [
            models.CheckConstraint(
                condition=Q(hours__gt=0) & Q(hours__lte=12), name="trainingsession_hours_range"
            ),
        ]
        indexes = [models.Index(fields=["program", "module"])]

    def __str__(self):
        return f"{self.module} — {self.date:%Y-%m-%d} {self.start_time:%H:%M}"


class AttendanceRecord(models.Model):
    """Whether one enrolled project's beneficiary attended one session. One row per
    (session, project); re-recording replaces ``present`` and who recorded it."""

    session = models.ForeignKey(
        TrainingSession, on_delete=models.PROTECT, related_name="attendance", verbose_name=_("session"),
    )
    project = models.ForeignKey(
        "workflow.GrantProject", on_delete=models.PROTECT, related_name="attendance",
        verbose_name=_("project"),
    )
    present = models.BooleanField(_("present"))
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("recorded by"),
    )
    recorded_at = models.DateTimeField(_("recorded at"))

    class Meta:
        db_table = "workflow_attendancerecord"  # the table it had before the app split
        ordering = ["session", "project"]
        verbose_name = _("attendance record")
        verbose_name_plural = _("attendance records")
        constraints = [
            models.UniqueConstraint(fields=["session", "project"], name="attendance_once_per_session"),
        ]

    def __str__(self):
        return f"{self.session} — {self.project_id}: {'present' if self.present else 'absent'}"
