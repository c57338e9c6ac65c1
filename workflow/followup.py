"""Post-launch follow-up: the guard of ``close``.

Follow-up plans and visits arrive with the follow-up issue; until then a project has
no plan left unfinished.
"""


def followup_complete(project) -> bool:
    """True when every planned follow-up visit of the project is reported."""
    return True
