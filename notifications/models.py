"""Deadlines of the human steps, and the notifications they (and other services) send.

A ``StepDeadline`` row overrides, for one program, the default time limits of one step
(``DEFAULT_DEADLINES``); a program without rows uses the defaults. A separate small
table rather than a dozen columns on ``Program``: a program overrides only the steps it
cares about, the admin edits them inline on the program, and a new step is a new choice,
not a new column.

A ``Notification`` is the in-app message; it is emailed at most once. Its
``dedupe_key`` is unique in the database, which is what makes a repeated or redelivered
tick harmless: the second insert of the same reminder fails and is skipped.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _


class Step(models.TextChoices):
    SCREENING = "screening", _("Eligibility screening")
    SCHEDULING = "scheduling", _("Committee scheduling")
    TRAINING = "training", _("Training sign-off")
    AUTHORIZATION = "authorization", _("Disbursement authorization")
    RELEASE = "release", _("Release of funds")
    VISIT = "visit", _("Follow-up visit")


# step: (remind after N days, escalate after M days). Projects count from the day they
# entered the step's state, disbursements from their request or authorization, visits
# from their due date.
DEFAULT_DEADLINES = {
    Step.SCREENING: (5, 10),
    Step.SCHEDULING: (14, 30),
    Step.TRAINING: (60, 90),
    Step.AUTHORIZATION: (3, 7),
    Step.RELEASE: (3, 7),
    Step.VISIT: (0, 14),
}


class StepDeadline(models.Model):
    program = models.ForeignKey(
        "workflow.Program", on_delete=models.CASCADE, related_name="step_deadlines",
        verbose_name=_("program"),
    )
    step = models.CharField(_("step"), max_length=20, choices=Step.choices)
    remind_after_days = models.PositiveSmallIntegerField(
        _("remind the assignee after (days)"), validators=[MaxValueValidator(365)],
    )
    escalate_after_days = models.PositiveSmallIntegerField(
        _("escalate to the program officers after (days)"),
        validators=[MinValueValidator(1), MaxValueValidator(730)],
    )

    class Meta:
        db_table = "workflow_stepdeadline"  # the table it had before the app split
        verbose_name = _("step deadline")
        verbose_name_plural = _("step deadlines")
        ordering = ["program", "step"]
        constraints = [
            models.UniqueConstraint(fields=["program", "step"], name="step_deadline_once_per_program"),
            models.CheckConstraint(
                condition=Q(escalate_after_days__gt=F("remind_after_days")),
                name="step_deadline_escalation_after_reminder",
            ),
        ]

    def __str__(self):
        return f"{self.program} — {self.get_step_display()}"

    def clean(self):
        if (
            self.remind_after_days is not None and self.escalate_after_days is not None
            and self.escalate_after_days <= self.remind_after_days
        ):
            raise ValidationError(
                {"escalate_after_days": _("The escalation must come after the reminder.")}
            )


class NotificationKind(models.TextChoices):
    REMINDER = "reminder", _("reminder: a step waits for you")
    ESCALATION = "escalation", _("escalation: a step is overdue in your program")
    VISIT_DUE = "visit_due", _("follow-up visit due")
    AT_RISK = "at_risk", _("project at risk")
    LEDGER_ALERT = "ledger_alert", _("audit ledger alert")
    CHECKPOINT = "checkpoint", _("audit ledger checkpoint")


class Notification(models.Model):
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications",
        verbose_name=_("recipient"),
    )
    kind = models.CharField(_("kind"), max_length=20, choices=NotificationKind.choices)
    # What the message says, as the name of its email/<template> and the parameters the
    # renderer looks things up with (ids, codes, numbers, ISO dates; never translated
    # text): it is rendered when read, in the reader's language then
    # (``notifications.messages``). Rows written before have no template and keep their text.
    template = models.CharField(_("message template"), max_length=40, blank=True)
    params = models.JSONField(_("message parameters"), default=dict, blank=True)
    # The text in the recipient's language at creation: what rows without a template
    # show, and what the search and the admin read.
    subject = models.CharField(_("subject"), max_length=200)
    body = models.TextField(_("message"))
    link = models.CharField(_("link"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)
    # Decided at creation from the recipient's email preference and address.
    email_wanted = models.BooleanField(_("to be emailed"), default=False)
    emailed_at = models.DateTimeField(_("emailed at"), null=True, blank=True)
    dedupe_key = models.CharField(_("deduplication key"), max_length=160, unique=True)

    class Meta:
        db_table = "workflow_notification"  # the table it had before the app split
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["recipient", "read_at"], name="notification_unread"),
            # My notifications, newest first: the list's keyset (core.pagination).
            models.Index(fields=["recipient", "created_at", "id"], name="notification_list"),
            models.Index(
                fields=["created_at"], name="notification_email_pending",
                condition=Q(email_wanted=True, emailed_at__isnull=True),
            ),
        ]

    def __str__(self):
        return f"{self.recipient} · {self.subject}"

    @property
    def is_read(self) -> bool:
        return self.read_at is not None


class EmailPreference(models.Model):
    """Whether a user gets one kind of notification by email too (in-app always).
    No row means yes: every kind is emailed until the user turns it off."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="email_preferences",
        verbose_name=_("user"),
    )
    kind = models.CharField(_("kind"), max_length=20, choices=NotificationKind.choices)
    by_email = models.BooleanField(_("by email"), default=True)

    class Meta:
        db_table = "workflow_emailpreference"  # the table it had before the app split
        verbose_name = _("email preference")
        verbose_name_plural = _("email preferences")
        constraints = [
            models.UniqueConstraint(fields=["user", "kind"], name="email_preference_once_per_kind"),
        ]

    def __str__(self):
        return f"{self.user} · {self.kind}: {'email' if self.by_email else 'in-app only'}"
