"""Separation of duties on disbursements (DESIGN.md §1): a finance officer requests, an
authorizing officer authorizes, a treasurer releases — three distinct people, whatever
groups a user holds. The matrix tries each role on each step; then users holding several
roles (and a superuser) are refused a second step of one disbursement but allowed the
same step on another one."""

import pytest
from django.contrib.auth.models import User

from core.exceptions import TamkeenError
from core.roles import Role
from disbursements import services as funding
from disbursements.models import Disbursement, EnvelopeEvent
from ledger.models import AuditEntry

PASSWORD = "pass-Tamkeen-2025"
STEPS = {
    # step: (source state, permission-holding role, call)
    "request": (None, Role.FINANCE_OFFICER, None),
    "authorize": ("requested", Role.AUTHORIZING_OFFICER,
                  lambda d, u: funding.disbursement_authorize(disbursement_id=d.pk, actor=u)),
    "reject": ("requested", Role.AUTHORIZING_OFFICER,
               lambda d, u: funding.disbursement_reject(disbursement_id=d.pk, actor=u, reason="Pièces manquantes.")),
    "release": ("authorized", Role.TREASURER,
                lambda d, u: funding.disbursement_release(
                    disbursement_id=d.pk, actor=u, password=PASSWORD, payment_reference=f"VIR-{d.pk}",
                    idempotency_key=f"key-{d.pk}-{u.pk}")),
    "cancel": ("requested", Role.FINANCE_OFFICER,
               lambda d, u: funding.disbursement_cancel(disbursement_id=d.pk, actor=u, reason="Erreur de saisie.")),
}


@pytest.fixture
def project(make_project):
    return make_project("funding", amount="60000.00")


@pytest.fixture
def tranche(project, people):
    """tranche(state, requested_by=..., authorized_by=...): a 1,000 MAD disbursement."""

    def make(state="requested", *, requested_by=None, authorized_by=None):
        d = funding.disbursement_request(project_id=project.pk, actor=requested_by or people["finance"],
                                         amount="1000.00")
        if state == "authorized":
            d = funding.disbursement_authorize(disbursement_id=d.pk, actor=authorized_by or people["authorizer"])
        return d

    return make


def _snapshot(d):
    return (Disbursement.objects.filter(pk=d.pk).values().get(), AuditEntry.objects.for_entity(d).count(),
            EnvelopeEvent.objects.count())


def _code(call):
    try:
        call()
    except TamkeenError as error:
        return error.code
    return "done"


@pytest.mark.parametrize("step", list(STEPS))
@pytest.mark.parametrize("role", list(Role))
def test_each_role_on_each_step(step, role, make_user, tranche, project):
    source, allowed_role, call = STEPS[step]
    user = make_user(role)
    if step == "request":
        before = Disbursement.objects.count(), AuditEntry.objects.count()
        outcome = _code(lambda: funding.disbursement_request(project_id=project.pk, actor=user, amount="500.00"))
        if outcome != "done":
            assert (Disbursement.objects.count(), AuditEntry.objects.count()) == before
    else:
        d = tranche(source)
        before = _snapshot(d)
        outcome = _code(lambda: call(d, user))
        if outcome != "done":
            assert _snapshot(d) == before, f"{role} was refused {step} but something changed"
        else:
            last = AuditEntry.objects.for_entity(d).order_by("seq").last()
            assert (last.transition, last.actor_id, last.actor_role) == (step, user.pk, role.value)
    assert outcome == ("done" if role == allowed_role else "permission_denied")


@pytest.fixture
def everything(make_user):
    """One user holding the three finance roles."""
    return make_user(Role.FINANCE_OFFICER, Role.AUTHORIZING_OFFICER, Role.TREASURER, username="cumulard")


def test_one_person_with_every_role_takes_one_step_per_disbursement(everything, people, tranche):
    mine = tranche(requested_by=everything)
    # The second step of the same disbursement is refused...
    before = _snapshot(mine)
    assert _code(lambda: STEPS["authorize"][2](mine, everything)) == "separation_of_duties"
    assert _code(lambda: STEPS["reject"][2](mine, everything)) == "separation_of_duties"
    assert _snapshot(mine) == before
    # ...the same step on someone else's request is allowed.
    theirs = tranche()
    assert _code(lambda: STEPS["authorize"][2](theirs, everything)) == "done"
    # Having authorized it, they cannot release it, nor cancel it.
    before = _snapshot(theirs)
    assert _code(lambda: STEPS["release"][2](theirs, everything)) == "separation_of_duties"
    assert _code(lambda: STEPS["cancel"][2](theirs, everything)) == "separation_of_duties"
    assert _snapshot(theirs) == before
    # A third person releases it; and on a file others requested and authorized, the
    # multi-role user may release.
    assert _code(lambda: STEPS["release"][2](theirs, people["treasurer"])) == "done"
    others = tranche("authorized")
    assert _code(lambda: STEPS["release"][2](others, everything)) == "done"
    # The requester of an authorized disbursement cannot release it either.
    mine = tranche(requested_by=everything)
    mine = funding.disbursement_authorize(disbursement_id=mine.pk, actor=people["authorizer"])
    assert _code(lambda: STEPS["release"][2](mine, everything)) == "separation_of_duties"


def test_a_superuser_is_bound_by_the_same_rule(people, tranche):
    root = User.objects.create_superuser("root", "root@example.org", PASSWORD)
    mine = tranche(requested_by=root)
    assert _code(lambda: STEPS["authorize"][2](mine, root)) == "separation_of_duties"
    theirs = tranche()
    assert _code(lambda: STEPS["authorize"][2](theirs, root)) == "done"
    assert _code(lambda: STEPS["release"][2](theirs, root)) == "separation_of_duties"


def test_the_database_refuses_one_person_on_two_steps(people, tranche):
    from django.db import IntegrityError, transaction

    d = tranche("authorized")
    with pytest.raises(IntegrityError), transaction.atomic():
        Disbursement.objects.filter(pk=d.pk).update(authorized_by=people["finance"])
    with pytest.raises(IntegrityError), transaction.atomic():
        Disbursement.objects.filter(pk=d.pk).update(released_by=people["authorizer"])


def test_release_needs_the_password_again(people, tranche):
    d = tranche("authorized")
    before = _snapshot(d)
    for password in ("", "wrong-password", None):
        outcome = _code(lambda password=password: funding.disbursement_release(
            disbursement_id=d.pk, actor=people["treasurer"], password=password, payment_reference="VIR-1",
            idempotency_key="k-1"))
        assert outcome == "reauthentication_failed"
    assert _snapshot(d) == before


def test_repeated_wrong_passwords_lock_the_release_for_a_while(people, tranche, settings):
    settings.TAMKEEN_STEPUP_MAX_FAILURES = 2
    d = tranche("authorized")
    before = _snapshot(d)

    def release(password):
        return _code(lambda: funding.disbursement_release(
            disbursement_id=d.pk, actor=people["treasurer"], password=password, payment_reference="VIR-1",
            idempotency_key="k-1"))

    assert [release("guess"), release("guess")] == ["reauthentication_failed"] * 2
    assert release(PASSWORD) == "too_many_attempts"
    assert _snapshot(d) == before


def test_the_inbox_offers_only_the_steps_a_person_may_take(everything, people, tranche):
    from disbursements.selectors import finance_inbox

    mine = tranche(requested_by=everything)
    theirs = tranche()
    authorized_by_me = tranche("authorized", authorized_by=everything)
    authorized_by_others = tranche("authorized")
    inbox = finance_inbox(everything)
    assert [d.pk for d in inbox.to_authorize] == [theirs.pk]
    assert [d.pk for d in inbox.to_release] == [authorized_by_others.pk]
    assert list(finance_inbox(people["finance"]).to_authorize) == []
    treasurer_inbox = finance_inbox(people["treasurer"])
    assert [d.pk for d in treasurer_inbox.to_release] == [authorized_by_me.pk, authorized_by_others.pk]
    assert mine.pk not in [d.pk for d in inbox.to_release]
