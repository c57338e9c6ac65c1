"""Applying one transition of any audited state machine, with its audit entry.

Every service that moves a django-fsm machine (projects, committee sessions, purchase
orders, disbursements) goes through ``apply_transition`` inside its own transaction,
after locking the row: permission, every unmet guard reported at once, the transition,
the signed audit entry, and the save — in that order.
"""

import functools

from django.utils.translation import gettext as _

from core import scopes
from core.exceptions import (
    BudgetExceeded,
    GuardFailed,
    PermissionDenied,
    SeparationOfDuties,
    TransitionNotAllowed,
)
from core.roles import conflicts, role_for, roles_of
from ledger.entries import HEAD_FIELDS, record_transition
from ledger.machines import transition_spec


def transition_permission(model, name: str) -> str | None:
    return transition_spec(model, name).permission


def check_permission(actor, perm: str | None) -> None:
    """Refuse an actor who is inactive, lacks ``perm``, or holds two roles that the
    separation-of-duties table (``core.roles.EXCLUDES``) keeps apart — however they
    came to hold them (``roles_conflict``)."""
    if actor is None or not actor.is_active or (perm and not actor.has_perm(perm)):
        raise PermissionDenied()
    clash = conflicts(roles_of(actor))
    if clash:
        first, second = clash[0]
        raise SeparationOfDuties(
            _("You hold the roles “%(first)s” and “%(second)s”, which cannot be held together: "
              "an administrator must revoke one of them before you act.")
            % {"first": first.label, "second": second.label},
            code="roles_conflict", params={"roles": [first.value, second.value]},
        )


def check_transition(instance, name: str, *, facts=None) -> None:
    """Raise TransitionNotAllowed, or GuardFailed listing every unmet guard, for ``name``.

    A transition has two kinds of guard, each carrying ``guard_code``, ``guard_message``
    and optionally ``guard_detail`` (``workflow.guards``):

    * its django-fsm ``conditions``, called with the instance alone;
    * its fact guards, listed in the transition's ``custom={"fact_guards": [...]}`` and
      called with the instance and ``facts``: a mapping of what the calling service
      was handed by the app that owns each fact (empty when none was). A fact guard
      refuses, with its code, when a fact it needs is missing. django-fsm never calls
      them: this check, which every service runs before the transition, is their only
      evaluation.
    """
    spec = transition_spec(type(instance), name)
    state = spec.field.get_state(instance)
    transition = spec.for_state(state)
    if transition is None:
        raise TransitionNotAllowed(params={"transition": name, "state": state})
    facts = facts if facts is not None else {}
    failures = _condition_failures(instance, transition)
    failures += [
        (g.guard_code, (g.guard_detail(instance, facts) if getattr(g, "guard_detail", None) else None)
         or g.guard_message)
        for g in (transition.custom or {}).get("fact_guards", ()) if not g(instance, facts)
    ]
    if failures:
        error = BudgetExceeded if any(code == "envelope_exceeded" for code, _m in failures) else GuardFailed
        raise error(failures, params={"transition": name, "failures": [code for code, _m in failures]})


def apply_transition(instance, actor, name, *, payload=None, fields=(), args=(), facts=None):
    """Apply transition ``name`` to the locked ``instance``, audit it and save it.

    The entry and the instance's row (the state, ``fields``, the chain head and
    ``updated_at``) are written together by ``ledger.writes.write_transition``: one
    round trip on PostgreSQL, ``auto_now`` set, refused as a ``ConcurrentTransition``
    unless the row still holds the state read here, and no ``pre_save``/``post_save``
    (react to ``ledger.signals.transition_applied``, sent in the same transaction).
    """
    spec = transition_spec(type(instance), name)
    perm = spec.permission
    check_permission(actor, perm)
    check_transition(instance, name, facts=facts)
    # Whose object it is, once the transition itself may be taken from here: a refused
    # move says first what is wrong with the move (core.scopes).
    scopes.check(actor, instance, perm)
    state_field = spec.field
    from_state = state_field.get_state(instance)
    getattr(instance, name)(*args)
    updated = [state_field.name, *fields, *(HEAD_FIELDS if hasattr(instance, "audit_head") else ())]
    if _has_updated_at(type(instance)):
        updated.append("updated_at")
    recorded = {
        "entity": instance, "transition": name, "from_state": from_state,
        "to_state": state_field.get_state(instance), "actor": actor,
        "role": role_for(actor, perm) if perm else "none", "payload": payload,
    }
    record_transition(**recorded, save_fields=updated)
    return instance


@functools.cache
def _has_updated_at(model) -> bool:
    return any(f.name == "updated_at" for f in model._meta.fields)


def transition_options(instance, actor, names, *, facts=None) -> dict:
    """For each of ``names`` that leaves ``instance``'s current state: ``""`` when
    ``actor`` may take it now, else why not — a ``TamkeenError`` (``PermissionDenied``
    for another role's transition, ``GuardFailed`` with every unmet guard). Transitions
    that do not leave the current state are left out: they are not on offer.

    Fact guards are checked with ``facts`` (the caller builds what it can; a fact that
    its owner hands only when it moves the file is assumed to hold here)."""
    options = {}
    for name in names:
        spec = transition_spec(type(instance), name)
        if spec.for_state(spec.field.get_state(instance)) is None:
            continue
        try:
            check_permission(actor, spec.permission)
            scopes.check(actor, instance, spec.permission)
            if facts is None:
                _check_conditions(instance, name)
            else:
                check_transition(instance, name, facts=facts)
        except (PermissionDenied, GuardFailed, TransitionNotAllowed) as error:
            options[name] = error
        else:
            options[name] = ""
    return options


def _condition_failures(instance, transition) -> list:
    return [
        (c.guard_code, (c.guard_detail(instance) if getattr(c, "guard_detail", None) else None) or c.guard_message)
        for c in transition.conditions if not c(instance)
    ]


def _check_conditions(instance, name):
    """The django-fsm conditions of ``name`` only (no fact guards)."""
    spec = transition_spec(type(instance), name)
    failures = _condition_failures(instance, spec.for_state(spec.field.get_state(instance)))
    if failures:
        raise GuardFailed(failures, params={"transition": name, "failures": [code for code, _m in failures]})
