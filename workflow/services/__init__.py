"""Every write of the workflow app. Views, flows, tasks and commands call these.

The project transitions whose guards read another app's facts are applied by that
app's services: ``training.services.project_complete_training``,
``disbursements.services.project_confirm_equipment``,
``followup.services.project_launch`` and ``project_close`` (``workflow.facts``).
A program's settings are written by ``program_create`` and ``program_update``, each
change signed on the program's own chain.
"""

from workflow.services.assignment import project_assign_agent
from workflow.services.intake import (
    application_create,
    application_errors,
    beneficiary_create,
    document_attach,
    project_create,
    project_update,
)
from workflow.services.lifecycle import (
    Decision,
    project_decide,
    project_defer,
    project_enrol,
    project_open_funding,
    project_resubmit,
    project_resume,
    project_return_docs,
    project_schedule,
    project_screen,
    project_submit,
    project_suspend,
    project_withdraw,
    transition_project,
)
from workflow.services.programs import program_create, program_update, record_program_change

__all__ = [
    "Decision",
    "application_create",
    "application_errors",
    "beneficiary_create",
    "document_attach",
    "project_assign_agent",
    "program_create",
    "program_update",
    "record_program_change",
    "project_create",
    "project_decide",
    "project_defer",
    "project_enrol",
    "project_open_funding",
    "project_resubmit",
    "project_resume",
    "project_return_docs",
    "project_schedule",
    "project_screen",
    "project_submit",
    "project_suspend",
    "project_update",
    "project_withdraw",
    "transition_project",
]
