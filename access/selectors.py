"""Reads of the people's pages: who holds which role, what waits for approval, and
each person's audit chain."""

from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db.models import Prefetch, Q

from access.models import Account, RoleRequest
from core.roles import Role, roles_of
from ledger.selectors import anchored_entries

User = get_user_model()


def people(*, search="", role=""):
    """Every person, by user name, with their role groups prefetched."""
    from django.contrib.auth.models import Group

    queryset = User.objects.order_by("username", "pk").prefetch_related(
        Prefetch("groups", queryset=Group.objects.filter(name__in=Role.values), to_attr="role_groups"))
    if search:
        queryset = queryset.filter(Q(username__icontains=search) | Q(first_name__icontains=search)
                                   | Q(last_name__icontains=search) | Q(email__icontains=search))
    if role:
        queryset = queryset.filter(groups__name=role)
    return queryset


def pending_requests(*, user_id=None):
    queryset = RoleRequest.objects.filter(status=RoleRequest.Status.PENDING).select_related(
        "account__user", "requested_by").order_by("requested_at", "pk")
    if user_id is not None:
        queryset = queryset.filter(account_id=user_id)
    return queryset


def roles_held(user) -> list[Role]:
    """The person's roles, in the table's order (``core.roles.roles_of``)."""
    held = roles_of(user)
    return [role for role in Role if role.value in held]


@dataclass
class AccountEntry:
    seq: int
    at: object
    actor: object
    role: str
    transition: str
    text: str
    reason: str
    entry_id: int
    problems: list = field(default_factory=list)


def _role_label(value):
    return Role(value).label if value in Role.values else value


def _names(roles) -> str:
    return ", ".join(str(_role_label(r)) for r in roles) or "—"


def entry_text(transition: str, p: dict) -> str:
    """What one entry of a person's chain says, in the reader's language."""
    from django.utils.translation import gettext as _

    role = _role_label(p.get("role", ""))
    if transition == "create":
        return _("Roles held before grants were recorded: %(roles)s") % {"roles": _names(p.get("roles", []))}
    if transition == "request_role":
        return _("Asked for the role “%(role)s” (waits for a second administrator)") % {"role": role}
    if transition == "grant_role":
        return _("Granted the role “%(role)s”") % {"role": role}
    if transition == "refuse_role":
        return _("Refused the role “%(role)s”") % {"role": role}
    if transition == "revoke_role":
        return _("Revoked the role “%(role)s”") % {"role": role}
    if transition == "set_by_operator":
        return _("At the server: granted %(granted)s; revoked %(revoked)s; superuser: %(su)s") % {
            "granted": _names(p.get("granted", [])), "revoked": _names(p.get("revoked", [])),
            "su": _("yes") if p.get("superuser") else _("no")}
    return transition


def account_timeline(user) -> list[AccountEntry]:
    """The person's chain: each grant, request, refusal and revocation, in order."""
    account = Account.objects.filter(pk=user.pk).first()
    if account is None:
        return []
    return [
        AccountEntry(seq=entry.seq, at=entry.created_at, actor=entry.actor, role=_role_label(entry.actor_role),
                     transition=entry.transition, text=entry_text(entry.transition, entry.payload or {}),
                     reason=(entry.payload or {}).get("reason", ""), entry_id=entry.pk)
        for entry in anchored_entries(account).select_related("actor")
    ]
