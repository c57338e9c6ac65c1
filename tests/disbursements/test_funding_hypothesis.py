"""Property test of disbursements (STYLE.md §9).

A hypothesis ``RuleBasedStateMachine`` whose rules are service calls — requests,
authorizations, rejections, releases (fresh or replayed idempotency keys, sometimes a
mistyped password), cancellations — made by a finance officer, an authorizing officer, a
treasurer, and one person holding all three roles. The machine keeps its own model
(DESIGN.md §1, §3, §7), predicts each call's outcome ("ok" or the exact error code) and
checks it; a refused call must change nothing. After every step:

- released ≤ approved for each project, released ≤ committed for the program (from the
  envelope ledger), and the ledger's releases equal the released disbursements;
- each disbursement's audit chain is ``create`` plus one entry per successful
  transition, contiguous, and ends in its live state;
- no disbursement has one person on two of its steps.

Two projects in funding are built once; each example runs in its own rolled-back
transaction (as ``django.test.TestCase`` does per test).
"""

from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.core.cache import cache
from django.test import TestCase
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    invariant,
    multiple,
    precondition,
    rule,
    run_state_machine_as_test,
)

from core.exceptions import TamkeenError
from core.roles import Role
from disbursements import selectors
from disbursements import services as funding
from disbursements.models import Disbursement, EnvelopeEvent
from ledger.models import AuditEntry

PASSWORD = "pass-Tamkeen-2025"
APPROVED = (Decimal("10000.00"), Decimal("8000.00"))
amounts = st.sampled_from(["0", "-5.00", "1.005", "1000.00", "2500.00", "2500.00", "4000.00", "4000.00", "7000.00"])
keys = st.sampled_from(["k1", "k2", "k3", "k4"])
REQUESTERS = {"finance", "multi"}
AUTHORIZERS = {"authorizer", "multi"}
TREASURERS = {"treasurer", "multi"}


@dataclass
class Tranche:
    project: int
    amount: Decimal
    requested_by: str
    state: str = "requested"
    authorized_by: str | None = None
    release_key: str | None = None
    released_by: str | None = None
    transitions: list = field(default_factory=list)


def machine_for(base):
    class DisbursementMachine(RuleBasedStateMachine):
        tranches = Bundle("tranches")

        def __init__(self):
            super().__init__()
            self._atomics = TestCase._enter_atomics()
            self.people, self.projects, self.program = base["people"], base["projects"], base["program"]
            self.model: dict[int, Tranche] = {}
            # Wrong passwords are counted per user in the cache, which the rollback does
            # not reset: each example starts with none, and the model counts its own.
            cache.clear()
            self.wrong_passwords = dict.fromkeys(TREASURERS, 0)

        def teardown(self):
            TestCase._rollback_atomics(self._atomics)

        # --- the model -------------------------------------------------------------
        def released(self, project_index=None):
            return sum((t.amount for t in self.model.values() if t.state == "released"
                        and (project_index is None or t.project == project_index)), Decimal("0.00"))

        def _snapshot(self):
            return (list(Disbursement.objects.order_by("pk").values()), AuditEntry.objects.count(),
                    EnvelopeEvent.objects.count())

        def _attempt(self, expected, call, *, changes=True):
            before = self._snapshot()
            try:
                result = call()
            except TamkeenError as error:
                assert error.code == expected, f"expected {expected}, got {error.as_dict()}"
                assert self._snapshot() == before, "a refused call changed something"
                return None
            assert expected == "ok", f"expected {expected}, got success"
            if not changes:
                assert self._snapshot() == before, "a replayed release changed something"
            return result

        # --- rules -----------------------------------------------------------------
        @rule(target=tranches, project=st.sampled_from([0, 1]), amount=amounts,
              who=st.sampled_from(["finance", "finance", "multi", "treasurer"]))
        def request(self, project, amount, who):
            value = Decimal(amount)
            if who not in REQUESTERS:
                expected = "permission_denied"
            elif value <= 0 or value.as_tuple().exponent < -2:
                expected = "invalid_input"
            elif value > APPROVED[project] - self.released(project):
                expected = "budget_exceeded"
            else:
                expected = "ok"
            d = self._attempt(expected, lambda: funding.disbursement_request(
                project_id=self.projects[project].pk, actor=self.people[who], amount=amount))
            if d is None:
                return multiple()
            self.model[d.pk] = Tranche(project=project, amount=value, requested_by=who)
            return d.pk

        def _decide(self, pk, who, name, call):
            t = self.model[pk]
            if who not in AUTHORIZERS:
                expected = "permission_denied"
            elif who == t.requested_by:
                expected = "separation_of_duties"
            elif t.state != "requested":
                expected = "transition_not_allowed"
            else:
                expected = "ok"
            if self._attempt(expected, call) is not None:
                t.state = "authorized" if name == "authorize" else "rejected"
                t.authorized_by = who if name == "authorize" else None
                t.transitions.append(name)

        @rule(pk=tranches, who=st.sampled_from(["authorizer", "multi", "finance"]))
        def authorize(self, pk, who):
            self._decide(pk, who, "authorize", lambda: funding.disbursement_authorize(
                disbursement_id=pk, actor=self.people[who]))

        @rule(pk=tranches, who=st.sampled_from(["authorizer", "multi"]))
        def reject(self, pk, who):
            self._decide(pk, who, "reject", lambda: funding.disbursement_reject(
                disbursement_id=pk, actor=self.people[who], reason="Pièce manquante."))

        @rule(pk=tranches, who=st.sampled_from(["treasurer", "multi", "authorizer"]), key=keys,
              typo=st.sampled_from([False, False, False, True]))
        def release(self, pk, who, key, typo):
            t = self.model[pk]
            used_by = {m.release_key: p for p, m in self.model.items() if m.release_key}
            replay = False
            if who not in TREASURERS:
                expected = "permission_denied"
            elif self.wrong_passwords[who] >= settings.TAMKEEN_STEPUP_MAX_FAILURES:
                expected = "too_many_attempts"  # locked out, whatever the password
            elif typo:
                expected = "reauthentication_failed"
            elif t.state == "released":
                # Only the very same request (treasurer, reference, key) is a replay.
                same = (t.release_key, t.released_by) == (key, who)
                expected, replay = ("ok", True) if same else ("transition_not_allowed", False)
            elif key in used_by:
                expected = "idempotency_key_reused"
            elif who in (t.requested_by, t.authorized_by):
                expected = "separation_of_duties"
            elif t.state != "authorized":
                expected = "transition_not_allowed"
            elif (self.released(t.project) + t.amount > APPROVED[t.project]
                  or self.released() + t.amount > sum(APPROVED)):
                expected = "budget_exceeded"
            else:
                expected = "ok"
            done = self._attempt(expected, lambda: funding.disbursement_release(
                disbursement_id=pk, actor=self.people[who], password=PASSWORD + ("x" if typo else ""),
                payment_reference=f"VIR-{pk}", idempotency_key=key), changes=not replay)
            if expected not in ("permission_denied", "too_many_attempts"):  # the password was checked
                self.wrong_passwords[who] = self.wrong_passwords[who] + 1 if typo else 0
            if done is not None and not replay:
                t.state, t.release_key, t.released_by = "released", key, who
                t.transitions.append("release")

        # Rules that take the usual next step of an open tranche, so that examples reach
        # releases (and the ceilings) often, not only by chance.
        def _waiting(self, state):
            return sorted(pk for pk, t in self.model.items() if t.state == state)

        @precondition(lambda self: self._waiting("requested") or self._waiting("authorized"))
        @rule(data=st.data())
        def advance_an_open_tranche(self, data):
            pk = data.draw(st.sampled_from(self._waiting("requested") + self._waiting("authorized")))
            t = self.model[pk]
            free = [who for who in ("authorizer", "treasurer", "multi") if who not in (t.requested_by, t.authorized_by)]
            if t.state == "requested":
                self.authorize(pk, data.draw(st.sampled_from([w for w in free if w in AUTHORIZERS])))
            else:
                self.release(pk, data.draw(st.sampled_from([w for w in free if w in TREASURERS])), f"fresh-{pk}",
                             False)

        @rule(pk=tranches, who=st.sampled_from(["finance", "multi", "authorizer"]))
        def cancel(self, pk, who):
            t = self.model[pk]
            if who not in REQUESTERS:
                expected = "permission_denied"
            elif who == t.authorized_by:
                expected = "separation_of_duties"
            elif t.state not in ("requested", "authorized"):
                expected = "transition_not_allowed"
            else:
                expected = "ok"
            if self._attempt(expected, lambda: funding.disbursement_cancel(
                    disbursement_id=pk, actor=self.people[who], reason="Doublon.")) is not None:
                t.state = "cancelled"
                t.transitions.append("cancel")

        # --- invariants ------------------------------------------------------------
        @invariant()
        def released_within_approved_and_committed(self):
            for index, project in enumerate(self.projects):
                totals = selectors.project_envelope_totals(project)
                assert totals.released == self.released(index) <= project.approved_amount
            program = selectors.program_envelope_totals(self.program)
            assert program.released <= program.committed == sum(APPROVED)
            live = sum(Disbursement.objects.filter(state="released").values_list("amount", flat=True),
                       Decimal("0.00"))
            assert live == program.released
            # The running totals the events keep are their sums, whatever was refused.
            assert (program.committed, program.released) == EnvelopeEvent.objects.filter(
                program_id=self.program.pk).sums()

        @invariant()
        def states_and_audit_chains_match_the_model(self):
            live = dict(Disbursement.objects.values_list("pk", "state"))
            assert live == {pk: t.state for pk, t in self.model.items()}
            for pk, t in self.model.items():
                chain = list(AuditEntry.objects.filter(entity_type="disbursements.disbursement", entity_id=str(pk))
                             .order_by("seq").values_list("seq", "transition", "to_state"))
                assert [name for _s, name, _t in chain] == ["create", *t.transitions]
                assert [seq for seq, *_ in chain] == list(range(1, len(chain) + 1))
                assert chain[-1][2] == t.state
            creates = AuditEntry.objects.filter(entity_type="disbursements.disbursement").count()
            assert creates == len(self.model) + sum(len(t.transitions) for t in self.model.values())

        @invariant()
        def nobody_holds_two_steps(self):
            for row in Disbursement.objects.values("requested_by", "authorized_by", "released_by"):
                steps = [v for v in row.values() if v is not None]
                assert len(steps) == len(set(steps)), row

    return DisbursementMachine


def test_disbursements_keep_their_invariants(db, settings, tmp_path, make_project, make_user, program):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.MEDIA_ROOT = str(tmp_path)
    base = {
        "program": program,
        "projects": [make_project("funding", amount=str(a)) for a in APPROVED],
        "people": {
            "finance": make_user(Role.FINANCE_OFFICER),
            "authorizer": make_user(Role.AUTHORIZING_OFFICER),
            "treasurer": make_user(Role.TREASURER),
            "multi": make_user(Role.FINANCE_OFFICER, Role.AUTHORIZING_OFFICER, Role.TREASURER),
        },
    }
    run_state_machine_as_test(
        machine_for(base),
        settings=hypothesis_settings(
            max_examples=25, stateful_step_count=25, deadline=None, database=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
