"""Object-level rights: on which objects a role lets a person act.

Permissions (``core.roles``) say what a role may do; a *scope* says on which objects.
Most roles act program-wide (a program officer on every file). Some act only on their
own objects: an association agent on the files they created or were assigned, a
mentor on the files they follow, a trainer on their training sessions, a committee
member or chair on their committee's sessions. Each app registers the limits of its
models here (``register``, from ``AppConfig.ready``); ``allows`` and ``check`` are the
one place that decides, used by ``ledger.transitions`` for every transition (and so
for the actions a page offers), and by the services that write without a transition
(an upload, an edit, a receipt's signature).

A person holding several roles that carry the permission may act when any one of
them may: a program officer who is also an agent works program-wide.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from core.exceptions import PermissionDenied
from core.roles import ROLE_PERMISSIONS, Role, roles_of


@dataclass(frozen=True)
class Scope:
    """The roles limited on one model: ``limits`` maps a role to ``rule(user, obj, perm)``;
    ``message`` is what a refused person reads; ``code`` is the error's code."""

    limits: dict[str, Callable]
    message: object
    code: str


_SCOPES: dict[str, Scope] = {}


def register(model_label: str, *, limits: dict, message, code: str) -> None:
    _SCOPES[model_label.lower()] = Scope({Role(r).value: rule for r, rule in limits.items()}, message, code)


def _holding(user, perm) -> list[str]:
    held = roles_of(user)
    if perm is None:
        return sorted(held)
    return [role.value for role, perms in ROLE_PERMISSIONS.items() if role.value in held and perm in perms]


def allows(user, obj, perm: str | None = None) -> bool:
    """Whether ``user`` may act on ``obj`` with ``perm`` (any of their roles when
    ``None``), as far as the object goes: the permission itself is checked apart."""
    if obj is None or user is None or not getattr(user, "pk", None):
        return True
    scope = _SCOPES.get(type(obj)._meta.label_lower)
    if scope is None or user.is_superuser:
        return True
    holding = _holding(user, perm)
    if not holding:
        return True  # the permission check refuses, with its own message
    return any(role not in scope.limits or scope.limits[role](user, obj, perm) for role in holding)


def check(user, obj, perm: str | None = None) -> None:
    """Raise ``PermissionDenied`` (with the scope's code) unless ``allows``."""
    if not allows(user, obj, perm):
        scope = _SCOPES[type(obj)._meta.label_lower]
        raise PermissionDenied(scope.message, code=scope.code)


NOT_YOUR_FILE = _("This file is not one of yours: a program officer assigns files to agents and mentors.")
