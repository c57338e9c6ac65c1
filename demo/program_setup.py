"""What ``seed_demo`` sets up around the files, once each: the time limits of the
steps, a grant waiting for the second administrator, a training session waiting for
its trainer. ``progress`` prints one line of what was done."""

from datetime import time as time_of_day
from datetime import timedelta

from django.utils import timezone

from access.models import RoleRequest
from access.services import role_request
from core.roles import Role
from demo import demo_data
from notifications.models import DEFAULT_DEADLINES, StepDeadline
from notifications.services import program_deadline_set
from training import services as training
from training.models import TrainingSession
from workflow.tasks import fire_due_timers

# The reminders the first seeds set to 0 days (every file overdue at once), put back
# to the program's defaults when they are still exactly those.
OLD_SAME_DAY = {"screening": (0, 2), "scheduling": (0, 7)}
# Overdue on purpose: the tranches waiting for the treasurer are reminded at the
# first beat tick of ``./tamkeen demo``. Everything else starts on time.
OVERDUE_ON_PURPOSE = {"release": (0, 7)}


def ensure_deadlines(program, officer, progress):
    """Default time limits, long enough for a fresh demo to start with no overdue
    work, except the release of funds (see ``OVERDUE_ON_PURPOSE``); set by the program
    officer as on the program's deadlines screen (signed on the program's chain) and
    kept if edited since."""
    current = {row.step: (row.remind_after_days, row.escalate_after_days)
               for row in StepDeadline.objects.filter(program=program)}
    wanted = {step: DEFAULT_DEADLINES[step] for step, limits in OLD_SAME_DAY.items()
              if current.get(step) == limits}
    wanted.update({step: limits for step, limits in OVERDUE_ON_PURPOSE.items() if step not in current})
    for step, (remind, escalate) in wanted.items():
        program_deadline_set(program_id=program.pk, actor=officer, step=step,
                             remind_after_days=remind, escalate_after_days=escalate)
        progress(f"deadlines: {step} reminds after {remind} days, escalates after {escalate}")


def ensure_role_request(users, progress):
    """One grant waiting for the second administrator (People and roles), once."""
    if RoleRequest.objects.exists():
        return
    role_request(user_id=users["program_officer2"].pk, role=Role.COMMITTEE_MEMBER, actor=users["admin"],
                 reason="Siège au comité provincial à partir de janvier.")
    progress("people: a committee seat waits for the second administrator's approval")


def ensure_training_session(program, users, progress):
    """Yesterday's session of an optional module, its attendance still to record by
    the trainer (optional: it never holds back a file's training sign-off). Once."""
    if TrainingSession.objects.filter(program=program).exists():
        return
    training.program_module_set(actor=users["program_officer"], program_id=program.pk,
                                module=demo_data.TRAINING_MODULE, planned_hours="6", mandatory=False)
    training.training_session_create(
        actor=users["program_officer"], program_id=program.pk, module=demo_data.TRAINING_MODULE,
        trainer=users["trainer"], date=timezone.localdate() - timedelta(days=1),
        start_time=time_of_day(9, 0), hours="3", place=demo_data.TRAINING_PLACE,
    )
    fire_due_timers()  # the session has begun: its attendance is the trainer's task now
    progress("training: yesterday's session waits for the trainer's attendance sheet")

