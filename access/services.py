"""Granting and revoking roles: the only way a person's roles change in the application.

Each act is a signed entry on the person's ``Account`` chain (``access.models``) with
who acted, in which role, why and when; the payload names the role and, for a grant
that waited, who asked and who approved. The rules:

* only an administrator (``access.manage_roles``) grants, approves, refuses or revokes;
* nobody acts on their own roles (``self_grant``);
* a role of ``core.roles.NEEDS_SECOND_ADMIN`` is granted when a second administrator —
  neither the person nor the one who asked — approves the request (``role_request`` →
  ``role_approve``); the others are granted at once;
* a role the separation-of-duties table (``core.roles.EXCLUDES``) keeps apart from one
  the person holds, or waits for, is refused (``roles_conflict``) — at the request and
  again at the approval;
* the administrator's role opens the Django admin (``is_staff``); nothing here makes a
  superuser: ``manage.py create_user --superuser`` does, signed as the operator's act.

Every service locks the person's account first, so two administrators acting at once
on one person are serialised and neither can slip a conflicting role past the other.
"""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone
from django.utils.translation import gettext as _

from access.models import Account, RoleRequest
from core.exceptions import InvalidInput, NotFound, PermissionDenied, SeparationOfDuties
from core.input import clean_text
from core.roles import NEEDS_SECOND_ADMIN, Role, excluded_by
from core.transactions import service_transaction
from ledger.entries import HEAD_FIELDS, record_transition
from ledger.machines import awaits_first_entry
from ledger.transitions import apply_transition, check_permission

User = get_user_model()

MANAGE = "access.manage_roles"
OPERATOR_ROLE = "operator"
REASON_MAX = 500


def lock_account(user_id) -> Account:
    """The person's account, locked (made on first use)."""
    user = User.objects.filter(pk=user_id).first()
    if user is None:
        raise NotFound(_("No such person."))
    Account.objects.get_or_create(user=user)
    return Account.objects.select_for_update().select_related("user").get(pk=user.pk)


def _role(value) -> Role:
    if value not in Role.values:
        raise InvalidInput(code="unknown_role", field_errors={"role": [_("Choose a role from the list.")]})
    return Role(value)


def _reason(value, field="reason") -> str:
    text = clean_text(value or "")
    if not text:
        raise InvalidInput(code="reason_required", field_errors={field: [_("Say why: the reason is kept in the audit history.")]})
    if len(text) > REASON_MAX:
        raise InvalidInput(code="reason_too_long", field_errors={
            field: [_("At most %(n)s characters.") % {"n": REASON_MAX}]})
    return text


def _not_oneself(actor, account) -> None:
    if actor.pk == account.pk:
        raise PermissionDenied(_("Nobody changes their own roles: ask another administrator."), code="self_grant")


def _held(account) -> set[str]:
    return set(account.user.groups.filter(name__in=Role.values).values_list("name", flat=True))


def _pending(account) -> set[str]:
    return set(account.requests.filter(status=RoleRequest.Status.PENDING).values_list("role", flat=True))


def _check_compatible(role: Role, others, field="role") -> None:
    clash = sorted(set(others) & {r.value for r in excluded_by(role)}, key=Role.values.index)
    if clash:
        other = Role(clash[0])
        raise SeparationOfDuties(
            _("“%(role)s” cannot be held together with “%(other)s”, which this person holds or waits for.")
            % {"role": role.label, "other": other.label},
            code="roles_conflict", field_errors={field: [_("Not with the role “%(other)s”.") % {"other": other.label}]},
            params={"roles": [role.value, other.value]},
        )


def _open_chain_if_needed(account, actor, role_label) -> None:
    if awaits_first_entry(account):
        # Roles given before grants were audited: the chain starts with what the person held.
        record_transition(entity=account, transition="create", from_state="", to_state=account.state,
                          actor=actor, role=role_label, payload={"roles": sorted(_held(account)),
                                                                 "superuser": account.user.is_superuser,
                                                                 "recorded_at_first_change": True})


def _set_group(user, role: Role, held: bool) -> None:
    group = Group.objects.get(name=role.value)
    if held:
        user.groups.add(group)
    else:
        user.groups.remove(group)
    if role == Role.ADMIN and user.is_staff != held:
        user.is_staff = held
        user.save(update_fields=["is_staff"])
    user.__dict__.pop("_tamkeen_roles", None)
    for cache in ("_perm_cache", "_group_perm_cache", "_user_perm_cache"):
        user.__dict__.pop(cache, None)


def _grant(account, actor, role: Role, payload) -> None:
    _set_group(account.user, role, True)
    also = []
    if role == Role.COMMITTEE_CHAIR and Role.COMMITTEE_MEMBER.value not in _held(account):
        # The chair is also a member of the committee (DESIGN.md §1).
        _set_group(account.user, Role.COMMITTEE_MEMBER, True)
        also.append(Role.COMMITTEE_MEMBER.value)
    apply_transition(account, actor, "grant_role", payload={"role": role.value, **payload,
                                                            **({"with": also} if also else {})})


@service_transaction
def role_request(*, user_id, role, actor, reason) -> RoleRequest | None:
    """Give ``role`` to the person: at once, or — for ``NEEDS_SECOND_ADMIN`` roles — as a
    request a second administrator approves. Returns the request, or ``None`` when the
    role was granted at once.

    Raises ``PermissionDenied`` (``self_grant`` for one's own roles),
    ``SeparationOfDuties`` (``roles_conflict``), ``InvalidInput`` (``unknown_role``,
    ``reason_required``, ``role_held``, ``request_pending``), ``NotFound``."""
    check_permission(actor, MANAGE)
    role = _role(role)
    reason = _reason(reason)
    account = lock_account(user_id)
    _not_oneself(actor, account)
    held, pending = _held(account), _pending(account)
    if role.value in held:
        raise InvalidInput(code="role_held", field_errors={"role": [_("This person already holds this role.")]})
    if role.value in pending:
        raise InvalidInput(code="request_pending",
                           field_errors={"role": [_("A request for this role already waits for approval.")]})
    _check_compatible(role, held | pending)
    _open_chain_if_needed(account, actor, "admin")
    if role not in NEEDS_SECOND_ADMIN:
        _grant(account, actor, role, {"reason": reason})
        return None
    request = RoleRequest.objects.create(account=account, role=role.value, reason=reason, requested_by=actor)
    apply_transition(account, actor, "request_role", payload={"role": role.value, "reason": reason,
                                                              "request": request.pk})
    return request


def _lock_request(request_id, actor) -> tuple[RoleRequest, Account]:
    request = RoleRequest.objects.filter(pk=request_id).first()
    if request is None:
        raise NotFound(_("No such request."))
    account = lock_account(request.account_id)
    request = RoleRequest.objects.select_for_update().get(pk=request.pk)
    if request.status != RoleRequest.Status.PENDING:
        raise InvalidInput(_("This request has already been decided."), code="request_decided")
    _not_oneself(actor, account)
    if request.requested_by_id == actor.pk:
        raise SeparationOfDuties(_("A second administrator must approve: not the one who asked."),
                                 code="second_admin_required")
    return request, account


@service_transaction
def role_approve(*, request_id, actor, reason="") -> RoleRequest:
    """A second administrator approves a waiting grant: the role is given and signed
    with who asked, why, and who approved. Raises ``second_admin_required`` for the
    one who asked, ``self_grant``, ``roles_conflict`` (checked again now),
    ``request_decided``, ``NotFound``."""
    check_permission(actor, MANAGE)
    note = clean_text(reason or "")[:REASON_MAX]
    request, account = _lock_request(request_id, actor)
    role = Role(request.role)
    _check_compatible(role, _held(account) | (_pending(account) - {role.value}), field="__all__")
    request.status, request.decided_by, request.decided_at = RoleRequest.Status.APPROVED, actor, timezone.now()
    request.decision_reason = note
    request.save(update_fields=["status", "decided_by", "decided_at", "decision_reason"])
    _grant(account, actor, role, {"reason": request.reason, "request": request.pk,
                                  "requested_by": request.requested_by_id, "approval_note": note})
    return request


@service_transaction
def role_refuse(*, request_id, actor, reason) -> RoleRequest:
    """A second administrator refuses a waiting grant, saying why."""
    check_permission(actor, MANAGE)
    reason = _reason(reason)
    request, account = _lock_request(request_id, actor)
    request.status, request.decided_by, request.decided_at = RoleRequest.Status.REFUSED, actor, timezone.now()
    request.decision_reason = reason
    request.save(update_fields=["status", "decided_by", "decided_at", "decision_reason"])
    apply_transition(account, actor, "refuse_role", payload={
        "role": request.role, "request": request.pk, "requested_by": request.requested_by_id, "reason": reason})
    return request


@service_transaction
def role_revoke(*, user_id, role, actor, reason) -> Account:
    """Take a role back (any administrator but the person; no approval needed to
    take away). Raises ``role_not_held``, ``self_grant``, ``reason_required``."""
    check_permission(actor, MANAGE)
    role = _role(role)
    reason = _reason(reason)
    account = lock_account(user_id)
    _not_oneself(actor, account)
    if role.value not in _held(account):
        raise InvalidInput(code="role_not_held", field_errors={"role": [_("This person does not hold this role.")]})
    _open_chain_if_needed(account, actor, "admin")
    _set_group(account.user, role, False)
    apply_transition(account, actor, "revoke_role", payload={"role": role.value, "reason": reason})
    return account


def operator_set_roles(user, roles, *, superuser: bool, reason: str) -> None:
    """The roles (and superuser flag) the operator gives at the server with
    ``manage.py create_user``, signed on the person's chain as the operator's act
    (no actor: whoever runs commands on the server). The separation-of-duties table
    holds here too. Runs in the caller's transaction."""
    wanted = {Role(r) for r in roles}
    for role in wanted:
        _check_compatible(role, {r.value for r in wanted if r != role})
    account = lock_account(user.pk)
    stored = User.objects.get(pk=user.pk)
    before, was_superuser, was_staff = _held(account), stored.is_superuser, stored.is_staff
    _open_chain_if_needed(account, None, OPERATOR_ROLE)
    account.user.is_superuser, account.user.is_staff = superuser, user.is_staff
    account.user.save(update_fields=["is_superuser", "is_staff"])
    for role in Role:
        if (role in wanted) != (role.value in before):
            _set_group(account.user, role, role in wanted)
    # The command's --staff/--no-staff is the operator's word, over the admin role's default.
    if account.user.is_staff != user.is_staff:
        account.user.is_staff = user.is_staff
        account.user.save(update_fields=["is_staff"])
    after = _held(account)
    if after == before and superuser == was_superuser and user.is_staff == was_staff:
        return
    spec_from = account.state
    account.set_by_operator()
    record_transition(entity=account, transition="set_by_operator", from_state=spec_from, to_state=account.state,
                      actor=None, role=OPERATOR_ROLE, save_fields=["state", *HEAD_FIELDS],
                      payload={"granted": sorted(after - before), "revoked": sorted(before - after),
                               "superuser": superuser, "was_superuser": was_superuser,
                               "staff": user.is_staff, "reason": reason})

