"""A program's settings: set up and changed only here, each change signed on the
program's own audit chain.

``program_create`` opens the chain (entry 1, ``create``: every setting as it starts);
``program_update`` records ``configure`` (the status stays ``in_force``) whose payload
lists each changed field with its value before and after — amounts as strings, as
every payload has them. A program made before its changes were audited (the admin of
old, the demo seed) has no chain yet: its first change opens it with a ``create``
entry holding the settings it had until then, then records the change.

The envelope is never lowered below what is already committed against it: the
envelope ledger belongs to ``disbursements``, which registers that check in
``workflow.program_checks``; its refusal is coded ``envelope_below_committed``. The
program's row is locked first, as every commitment locks it before committing.
"""

from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from core.exceptions import InvalidInput
from core.input import parse_money
from core.roles import role_for
from core.transactions import service_transaction
from ledger.entries import HEAD_FIELDS, record_transition
from ledger.machines import awaits_first_entry
from ledger.transitions import apply_transition, check_permission
from workflow import program_checks
from workflow.locks import lock_program
from workflow.models import Program
from workflow.models.program import SETTING_FIELDS

SETTINGS = SETTING_FIELDS
MONEY = frozenset(["envelope", "project_ceiling"])
WHOLE_NUMBERS = frozenset(["year", "min_age", "max_age", "support_cooldown_years", "training_threshold",
                           "quorum_percent"])
TEXTS = frozenset(["name", "province", "majority_rule"])


@service_transaction
def program_create(*, actor, code, **fields) -> Program:
    """Set up a program: its code (a slug, unique) and any of ``SETTINGS`` (the others
    take their defaults). Program officer or administrator (``workflow.add_program``).
    Audited as ``create`` with every setting. Raises ``PermissionDenied`` and
    ``InvalidInput`` (every wrong field at once); nothing is saved on error."""
    check_permission(actor, "workflow.add_program")
    _refuse_unknown(fields)
    errors: dict = {}
    values = _parsed(fields, errors)
    program = Program(code=(code or "").strip())
    for field, value in values.items():
        setattr(program, field, value)
    _check(program, errors, new=True)
    program.save()
    record_transition(
        entity=program, transition="create", from_state="", to_state=program.status, actor=actor,
        role=role_for(actor, "workflow.add_program"),
        payload={"code": program.code, "settings": settings_of(program)},
    )
    program.save(update_fields=list(HEAD_FIELDS))
    return program


@service_transaction
def program_update(*, program_id, actor, **changes) -> Program:
    """Change some of a program's ``SETTINGS``. Program officer or administrator
    (``workflow.change_program``). Audited as ``configure``, listing each changed field
    with its value before and after; a call that changes nothing records nothing.

    Raises ``NotFound``, ``PermissionDenied``, ``InvalidInput`` (every wrong field at
    once; ``code`` cannot be changed), ``InvalidInput`` coded
    ``envelope_below_committed`` (or the code of another app's registered check) when
    the envelope would fall below what is committed. Nothing changes on error."""
    check_permission(actor, "workflow.change_program")
    unknown = set(changes) - set(SETTINGS)
    if unknown:
        raise InvalidInput(field_errors={f: [_("This field cannot be changed.")] for f in sorted(unknown)})
    errors: dict = {}
    values = _parsed(changes, errors)
    program = lock_program(program_id)
    before = settings_of(program)
    for field, value in values.items():
        setattr(program, field, value)
    _check(program, errors)
    after = settings_of(program)
    changed = [field for field in SETTINGS if field in values and _differs(field, before[field], after[field])]
    if not changed:
        return program
    failures = program_checks.failures(program)
    if failures:
        raise InvalidInput(
            code=failures[0].code,
            field_errors={f.field: [f.message] for f in failures},
            params={"failures": sorted({f.code for f in failures})},
        )
    _open_chain_if_needed(program, actor, before)
    apply_transition(program, actor, "configure", fields=changed, payload={
        "changes": {field: {"before": before[field], "after": after[field]} for field in changed},
    })
    return program


def record_program_change(program, actor, section: str, changes: dict) -> None:
    """Sign on ``program``'s chain a change another app makes to what the lifecycle reads
    of it (notifications: its time limits), as ``configure`` with ``section`` and the
    ``changes`` (before and after). The caller's service holds the program's lock
    (``workflow.locks.lock_program``) and checked its own permission; the actor must
    also be one who configures programs (``workflow.change_program``)."""
    _open_chain_if_needed(program, actor, settings_of(program))
    apply_transition(program, actor, "configure", payload={"section": section, "changes": changes})


def _open_chain_if_needed(program, actor, settings) -> None:
    if awaits_first_entry(program):
        # A program made before its changes were audited: its chain starts here, with
        # the settings it had until now.
        record_transition(
            entity=program, transition="create", from_state="", to_state=program.status, actor=actor,
            role=role_for(actor, "workflow.change_program"),
            payload={"code": program.code, "settings": settings, "recorded_at_first_change": True},
        )


def settings_of(program) -> dict:
    """The program's settings as the ledger records them (amounts as strings)."""
    values = {field: getattr(program, field) for field in SETTINGS}
    for field in MONEY:
        if isinstance(values[field], Decimal):
            values[field] = format(values[field], "f")
    if isinstance(values["contribution_share"], Decimal):
        values["contribution_share"] = format(values["contribution_share"], "f")
    return values


def _differs(field, before, after) -> bool:
    if field == "required_documents" and isinstance(before, list) and isinstance(after, list):
        return set(before) != set(after)  # which documents, not the order they were ticked in
    return before != after


def _refuse_unknown(fields):
    unknown = set(fields) - set(SETTINGS)
    if unknown:
        raise InvalidInput(field_errors={f: [_("Unknown field.")] for f in sorted(unknown)})


def _parsed(fields: dict, errors: dict) -> dict:
    """Each given setting as the model stores it; what cannot be read goes in ``errors``."""
    values = {}
    for field, value in fields.items():
        try:
            values[field] = _parse(field, value)
        except InvalidInput as exc:
            for name, messages in exc.field_errors.items():
                errors.setdefault(name, []).extend(messages)
    return values


def _parse(field, value):
    if field in MONEY:
        return parse_money(value, field)
    if field in WHOLE_NUMBERS:
        return _whole_number(value, field)
    if field in TEXTS:
        return str(value if value is not None else "").strip()
    if field == "contribution_share":
        return _share(value)
    if field == "required_documents":
        return _list_of(value, field, str)
    if field == "followup_offsets":
        return sorted(set(_list_of(value, field, int)))
    if field == "is_active":
        if not isinstance(value, bool):
            raise InvalidInput(field_errors={field: [_("Say yes or no.")]})
        return value
    raise InvalidInput(field_errors={field: [_("Unknown field.")]})


def _whole_number(value, field) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    text = str(value if value is not None else "").strip()
    if text.lstrip("-").isdigit():
        return int(text)
    raise InvalidInput(field_errors={field: [_("Enter a whole number.")]})


def _share(value) -> Decimal:
    """A share of the project's cost, such as 0.300 for 30 %: at most three decimals."""
    if isinstance(value, float):
        raise InvalidInput(field_errors={"contribution_share": [
            _("Amounts must be given as decimals, not floats.")]})
    try:
        share = Decimal(str(value).strip().replace(",", "."))
    except (InvalidOperation, ValueError):
        share = None
    if share is None or not share.is_finite() or share.as_tuple().exponent < -3:
        # xgettext:no-python-format
        raise InvalidInput(field_errors={"contribution_share": [
            _("Give the share with at most three decimals, e.g. 0.300 for 30 %.")]})
    return share.quantize(Decimal("0.001"))


def _list_of(value, field, kind) -> list:
    if not isinstance(value, (list, tuple)) or not all(
        isinstance(item, kind) and not isinstance(item, bool) for item in value
    ):
        raise InvalidInput(field_errors={field: [_("Give a list.")]})
    return list(dict.fromkeys(value))


def _check(program, errors: dict, *, new=False) -> None:
    """The model's field validators and workflow's own rules (and, for a ``new``
    program, that its code is free); every wrong field at once. ``errors`` holds what
    could not be read at all."""
    try:
        program.clean_fields(exclude=list(errors))
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            errors.setdefault(field, []).extend(messages)
    for field, messages in program.rule_problems().items():
        if field not in errors:
            errors[field] = [str(message) for message in messages]
    if new and "code" not in errors:
        try:
            program.validate_unique(exclude=[f.name for f in Program._meta.fields if f.name != "code"])
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                errors.setdefault(field, []).extend(messages)
    if errors:
        raise InvalidInput(field_errors=errors)
