"""Helpers shared by the funding services (they join the caller's transaction)."""

from django.utils.translation import gettext as _

from core.exceptions import InvalidInput, TransitionNotAllowed
from core.input import parse_money
from core.roles import role_for
from ledger.entries import HEAD_FIELDS, record_transition
from ledger.transitions import check_permission

# Project states in which its equipment is being planned and bought.
PLANNING_STATES = ("approved", "in_training", "trained", "funding")
# Project states in which tranches can be requested ("as the project progresses").
PAYING_STATES = ("funding", "equipped", "launched")


def require_project_state(project, states, message):
    if project.state not in states:
        raise TransitionNotAllowed(message, params={"state": project.state})


def parse_amounts(**values):
    """Parse several MAD amounts at once, reporting every bad one (field-level)."""
    parsed, errors = {}, {}
    for name, value in values.items():
        try:
            parsed[name] = parse_money(value, name)
        except InvalidInput as exc:
            errors.update(exc.field_errors)
    if errors:
        raise InvalidInput(field_errors=errors)
    return parsed


def record_create(entity, actor, perm, payload):
    """Open ``entity``'s audit chain with its ``create`` entry and save the chain head."""
    check_permission(actor, perm)
    record_transition(
        entity=entity, transition="create", from_state="", to_state=entity.state, actor=actor,
        role=role_for(actor, perm), payload=payload,
    )
    entity.save(update_fields=list(HEAD_FIELDS))


def clean_key(value, field):
    key = (value or "").strip()
    if not key:
        raise InvalidInput(field_errors={field: [_("This field is required.")]})
    if len(key) > 120:
        raise InvalidInput(field_errors={field: [_("At most %(n)d characters.") % {"n": 120}]})
    return key
