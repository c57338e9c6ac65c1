"""Writes of post-launch follow-up, one module per concern:

* ``lifecycle``: the plan made at launch (``project_launch``, ``followup_plan_create``)
  and the project's close (``project_close``), which hands the plan's progress to the
  ``close`` guard and settles the visits left;
* ``visits``: the mentor's visit reports and the at-risk rules run on them;
* ``mentors``: the mentor's assignment by a program officer;
* ``parsing``: the forms' input (a visit report, the equipment recovered).

Reminders of due visits are the periodic tasks' business. Callers use this package
(``from followup import services``); the names below are its public services.
"""

from followup.services.lifecycle import (
    close_followup,
    create_followup_plan,
    followup_plan_create,
    mentor_at_launch,
    project_close,
    project_launch,
)
from followup.services.mentors import project_assign_mentor
from followup.services.parsing import parse_recovery
from followup.services.visits import visit_report

__all__ = [
    "close_followup", "create_followup_plan", "followup_plan_create", "mentor_at_launch", "parse_recovery",
    "project_assign_mentor", "project_close", "project_launch", "visit_report",
]
