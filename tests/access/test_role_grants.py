"""Role grants and revocations (access.services): signed on the person's chain, a
second administrator for the committee, money, auditor and administrator roles, nobody
acting on their own roles, and the separation-of-duties table checked at the grant and
again at every transition."""

import pytest
from django.contrib.auth.models import Group, User

from access import services
from access.models import Account, RoleRequest
from core.exceptions import InvalidInput, PermissionDenied, SeparationOfDuties, TamkeenError
from core.roles import EXCLUDES, NEEDS_SECOND_ADMIN, OPERATIONAL_ROLES, Role, conflicts
from disbursements import services as funding
from ledger.evidence import verify_database
from ledger.models import AuditEntry

PASSWORD = "pass-Tamkeen-2025"


@pytest.fixture
def admins(make_user):
    return make_user(Role.ADMIN, username="admin-1"), make_user(Role.ADMIN, username="admin-2")


@pytest.fixture
def newcomer(make_user):
    return User.objects.create_user("newcomer", password=PASSWORD)


def roles(user):
    return set(User.objects.get(pk=user.pk).groups.values_list("name", flat=True))


def chain(user, *, opening=False):
    """The person's chain, without its opening entry (the roles held when it started)."""
    entries = list(AuditEntry.objects.filter(entity_type="access.account", entity_id=str(user.pk))
                   .order_by("seq").values_list("transition", "actor_id", "payload"))
    if entries:
        assert entries[0][0] == "create"
    return entries if opening else entries[1:]


def refusal(call) -> TamkeenError:
    with pytest.raises(TamkeenError) as caught:
        call()
    return caught.value


def state(user):
    """What a refused act must leave alone: roles, flags, requests and the ledger."""
    fresh = User.objects.get(pk=user.pk)
    return (roles(fresh), fresh.is_superuser, fresh.is_staff, RoleRequest.objects.count(), AuditEntry.objects.count())


def test_a_role_without_approval_is_granted_at_once_and_signed(admins, newcomer):
    first, _second = admins
    assert services.role_request(user_id=newcomer.pk, role="mentor", actor=first, reason="Suit trois ateliers.") is None
    assert roles(newcomer) == {"mentor"}
    [(transition, actor, payload)] = chain(newcomer)
    assert (transition, actor) == ("grant_role", first.pk)
    assert payload == {"role": "mentor", "reason": "Suit trois ateliers."}
    entry = AuditEntry.objects.filter(entity_type="access.account", entity_id=str(newcomer.pk)).last()
    assert entry.actor_role == "admin"
    assert verify_database().ok


@pytest.mark.parametrize("role", sorted(NEEDS_SECOND_ADMIN))
def test_committee_money_auditor_and_admin_roles_wait_for_a_second_administrator(admins, newcomer, role):
    first, second = admins
    request = services.role_request(user_id=newcomer.pk, role=role, actor=first, reason="Nommé par arrêté.")
    assert request.status == "pending" and roles(newcomer) == set()

    # The one who asked cannot approve it.
    before = state(newcomer)
    assert refusal(lambda: services.role_approve(request_id=request.pk, actor=first)).code == "second_admin_required"
    assert state(newcomer) == before

    services.role_approve(request_id=request.pk, actor=second, reason="Vu l'arrêté.")
    expected = {role, "committee_member"} if role == Role.COMMITTEE_CHAIR else {role}
    assert roles(newcomer) == expected
    assert [t for t, _a, _p in chain(newcomer)] == ["request_role", "grant_role"]
    _t, approver, payload = chain(newcomer)[-1]
    assert approver == second.pk
    assert payload["requested_by"] == first.pk and payload["reason"] == "Nommé par arrêté."
    assert User.objects.get(pk=newcomer.pk).is_staff is (role == Role.ADMIN)
    assert verify_database().ok


def test_a_refused_request_grants_nothing_and_says_why(admins, newcomer):
    first, second = admins
    request = services.role_request(user_id=newcomer.pk, role="treasurer", actor=first, reason="Remplacement.")
    services.role_refuse(request_id=request.pk, actor=second, reason="Pas de décision de nomination.")
    assert roles(newcomer) == set()
    assert RoleRequest.objects.get(pk=request.pk).status == "refused"
    assert chain(newcomer)[-1][0] == "refuse_role"
    assert refusal(lambda: services.role_approve(request_id=request.pk, actor=second)).code == "request_decided"


def test_nobody_grants_or_revokes_their_own_roles(admins, make_user):
    first, second = admins
    for call in (
        lambda: services.role_request(user_id=first.pk, role="treasurer", actor=first, reason="Moi."),
        lambda: services.role_request(user_id=first.pk, role="mentor", actor=first, reason="Moi."),
        lambda: services.role_revoke(user_id=first.pk, role="admin", actor=first, reason="Moi."),
    ):
        before = state(first)
        assert refusal(call).code == "self_grant"
        assert state(first) == before


def test_a_third_administrator_may_approve_what_a_first_asked(make_user, newcomer):
    first, second, third = (make_user(Role.ADMIN, username=f"adm-{n}") for n in range(3))
    request = services.role_request(user_id=newcomer.pk, role="treasurer", actor=first, reason="Nomination.")
    services.role_approve(request_id=request.pk, actor=third)
    assert roles(newcomer) == {"treasurer"}
    assert RoleRequest.objects.get(pk=request.pk).decided_by_id == third.pk


@pytest.mark.parametrize("held, wanted", [
    (Role.ADMIN, Role.TREASURER), (Role.ADMIN, Role.ASSOCIATION_AGENT), (Role.ADMIN, Role.AUDITOR),
    (Role.AUDITOR, Role.PROGRAM_OFFICER), (Role.TREASURER, Role.ADMIN), (Role.MENTOR, Role.AUDITOR),
])
def test_roles_the_table_keeps_apart_are_refused_at_the_grant(admins, make_user, held, wanted):
    first, _second = admins
    person = make_user(held, username="someone")
    before = state(person)
    error = refusal(lambda: services.role_request(user_id=person.pk, role=wanted, actor=first, reason="Essai."))
    assert isinstance(error, SeparationOfDuties) and error.code == "roles_conflict"
    assert state(person) == before


def test_a_waiting_request_counts_for_the_table_too(admins, newcomer):
    first, second = admins
    services.role_request(user_id=newcomer.pk, role="auditor", actor=first, reason="Audit 2026.")
    assert refusal(lambda: services.role_request(user_id=newcomer.pk, role="mentor", actor=second,
                                                 reason="Suivi.")).code == "roles_conflict"


def test_the_table_is_read_both_ways():
    assert conflicts(["admin", "treasurer"]) == [(Role.TREASURER, Role.ADMIN)]
    assert conflicts(["finance_officer", "authorizing_officer", "treasurer"]) == []
    for role in OPERATIONAL_ROLES:
        assert role in EXCLUDES[Role.ADMIN] and role in EXCLUDES[Role.AUDITOR]


def test_an_administrator_who_holds_a_money_role_anyway_cannot_pay(make_project, people, make_user):
    """However the roles were put together (here straight in the database), every
    transition checks the table: an administrator with the treasurer's group is refused."""
    project = make_project("funding", amount="60000.00")
    d = funding.disbursement_request(project_id=project.pk, actor=people["finance"], amount="1000.00")
    funding.disbursement_authorize(disbursement_id=d.pk, actor=people["authorizer"])
    admin = make_user(Role.ADMIN, username="escalated")
    admin.groups.add(Group.objects.get(name="treasurer"))
    admin = User.objects.get(pk=admin.pk)
    entries = AuditEntry.objects.count()
    error = refusal(lambda: funding.disbursement_release(
        disbursement_id=d.pk, actor=admin, password=PASSWORD, payment_reference="VIR-1", idempotency_key="k"))
    assert error.code == "roles_conflict"
    assert AuditEntry.objects.count() == entries
    assert type(d).objects.get(pk=d.pk).state == "authorized"


def test_revoking_takes_the_role_and_the_admin_site_away(admins, newcomer):
    first, second = admins
    request = services.role_request(user_id=newcomer.pk, role="admin", actor=first, reason="Renfort.")
    services.role_approve(request_id=request.pk, actor=second)
    assert User.objects.get(pk=newcomer.pk).is_staff
    services.role_revoke(user_id=newcomer.pk, role="admin", actor=second, reason="Fin de mission.")
    fresh = User.objects.get(pk=newcomer.pk)
    assert roles(fresh) == set() and not fresh.is_staff
    assert chain(newcomer)[-1][0] == "revoke_role"
    assert refusal(lambda: services.role_revoke(user_id=newcomer.pk, role="admin", actor=second,
                                                reason="Encore.")).code == "role_not_held"


@pytest.mark.parametrize("role", [Role.PROGRAM_OFFICER, Role.TREASURER, Role.AUDITOR, Role.COMMITTEE_CHAIR])
def test_only_administrators_manage_roles(make_user, newcomer, role):
    someone = make_user(role, username="not-an-admin")
    before = state(newcomer)
    with pytest.raises(PermissionDenied):
        services.role_request(user_id=newcomer.pk, role="mentor", actor=someone, reason="x")
    assert state(newcomer) == before


@pytest.mark.parametrize("reason, code", [("", "reason_required"), ("   ", "reason_required"),
                                          ("x" * 501, "reason_too_long")])
def test_a_reason_is_required(admins, newcomer, reason, code):
    first, _second = admins
    with pytest.raises(InvalidInput) as caught:
        services.role_request(user_id=newcomer.pk, role="mentor", actor=first, reason=reason)
    assert caught.value.code == code and "reason" in caught.value.field_errors
    assert roles(newcomer) == set() and not Account.objects.filter(pk=newcomer.pk, audit_seq__gt=0).exists()


def test_roles_given_before_grants_were_audited_open_the_chain(admins, make_user):
    first, _second = admins
    old = make_user(Role.MENTOR, username="old-mentor")  # groups set directly, no entry
    services.role_request(user_id=old.pk, role="trainer", actor=first, reason="Forme aussi.")
    assert [t for t, _a, _p in chain(old, opening=True)] == ["create", "grant_role"]
    assert chain(old, opening=True)[0][2]["roles"] == ["mentor"]
    assert verify_database().ok
