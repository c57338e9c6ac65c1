"""Property test of the project lifecycle (STYLE.md §9).

A hypothesis ``RuleBasedStateMachine`` whose every rule is one service call on projects
of a small program envelope. The test keeps its own model of each project (state,
amounts, documents, who submitted it) written from DESIGN.md §3, predicts the outcome
of every call ("ok" or the exact error code) and checks it. Calls that fail must change
nothing. After every step:

- each project's state equals the model's;
- each project has one audit entry per successful transition, plus ``create``, with a
  contiguous sequence 1..n whose states chain;
- committed ≤ envelope, and committed equals the model's sum;
- approved ≤ requested ≤ ceiling for every approved file.

The committee's moves go through sessions (DESIGN.md §3): a file is scheduled by being
put on a new session's agenda, taken off it, or decided by the session's close. The
model knows whether a session holds the file: while one does, a direct ``defer`` is
refused; a file in committee that no session holds (its session closed while it was
suspended) cannot be decided directly — the service refuses — only deferred.

Each example runs inside its own rolled-back transaction (as ``django.test.TestCase``
does per test), with a fresh program and fresh users.
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from itertools import count

import pytest
from django.contrib.auth.models import Group, User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import TestCase
from hypothesis import HealthCheck, event
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    precondition,
    rule,
    run_state_machine_as_test,
)

from approvals import services as committee
from approvals.facts import committee_hold
from approvals.models import AgendaItem
from core.exceptions import TamkeenError
from core.roles import Role
from demo.scenarios import (
    Cast,
    attach_required_documents,
    decide_in_session,
    plan_session,
    receive_equipment,
)
from disbursements import services as funding
from disbursements.selectors import committed_amount
from disbursements.services import envelope_decommit
from followup import services as followup_services
from ledger.models import AuditEntry
from tests._uploads import jpeg_bytes
from training import services as training_services
from workflow import services
from workflow.models import ActivitySector, Commune, Document, GrantProject, Program

ENVELOPE = Decimal("100000.00")
CEILING = Decimal("60000.00")
REASON = "Motif consigné au dossier."

TERMINAL = {"ineligible", "rejected", "closed", "withdrawn"}
ACTIVE = {
    "draft", "submitted", "eligible", "in_committee", "approved", "revision_requested",
    "in_training", "trained", "funding", "equipped", "launched",
}
COMMITTED = {"approved", "in_training", "trained", "funding", "equipped", "launched", "closed"}
EDITABLE = {"draft", "revision_requested"}
# Transitions with one source, one target and no guard the model has to reason about.
SIMPLE = {
    "enrol": ("approved", "in_training"),
    "complete_training": ("in_training", "trained"),
    "open_funding": ("trained", "funding"),
    "equipment_received": ("funding", "equipped"),
    "launch": ("equipped", "launched"),
}

_cin = count(1)

amounts = st.sampled_from(["0", "-10.00", "1.00", "15000.00", "30000.00", "45000.00", "60000.00",
                           "60000.01", "75000.00"])


@dataclass
class Model:
    state: str = "draft"
    requested: Decimal = Decimal("0")
    approved: Decimal | None = None
    documents: bool = False
    submitted_by: str | None = None
    before_suspension: str = ""
    transitions: int = 0  # successful audited service calls since create
    held: bool = False  # on the agenda of a planned or open session
    given_back: bool = False  # a withdrawn approval's commitment returned to the envelope
    agent: str = "agent"  # the association agent in charge (core.scopes): "agent" or "dual"


class LifecycleMachine(RuleBasedStateMachine):
    projects = Bundle("projects")

    def __init__(self):
        super().__init__()
        # One savepoint per example, rolled back in teardown(): the services' durable
        # transactions accept it as a test transaction, like django.test.TestCase's.
        self._atomics = TestCase._enter_atomics()
        self.model: dict[int, Model] = {}

    def teardown(self):
        TestCase._rollback_atomics(self._atomics)

    # --- setup ---------------------------------------------------------------------------

    @initialize()
    def a_program_and_its_people(self):
        self.program = Program.objects.create(
            code=f"prop-{next(_cin)}", name="Programme", year=2025, envelope=ENVELOPE, project_ceiling=CEILING,
        )
        self.sector = ActivitySector.objects.get(code="sewing")
        self.commune = Commune.objects.get(code="nador")

        def person(name, *roles):
            user = User.objects.create_user(username=f"{name}-{next(_cin)}", password=None)
            user.groups.set(Group.objects.filter(name__in=[Role(r).value for r in roles]))
            return User.objects.get(pk=user.pk)

        self.people = {
            "agent": person("agent", Role.ASSOCIATION_AGENT),
            # Can both submit and screen: separation of duties must stop them doing both.
            "dual": person("dual", Role.ASSOCIATION_AGENT, Role.PROGRAM_OFFICER),
            "officer": person("officer", Role.PROGRAM_OFFICER),
            "chair": person("chair", Role.COMMITTEE_CHAIR, Role.COMMITTEE_MEMBER),
            "finance": person("finance", Role.FINANCE_OFFICER),
            "mentor": person("mentor", Role.MENTOR),
        }

    # --- helpers -------------------------------------------------------------------------

    def _snapshot(self, pk):
        return (
            GrantProject.objects.filter(pk=pk).values().get(),
            AuditEntry.objects.filter(entity_type="workflow.grantproject", entity_id=str(pk)).count(),
        )

    def _attempt(self, pk, expected, call, *, moves=1):
        """Call a service whose outcome the model predicts; True when it succeeded.
        ``moves``: the project transitions a success makes (0 when a session's close
        skips a file that is no longer in committee)."""
        before = self._snapshot(pk)
        try:
            call()
        except TamkeenError as error:
            assert error.code == expected, (
                f"project {pk} in {self.model[pk].state}: expected {expected}, got {error.as_dict()}"
            )
            assert self._snapshot(pk) == before, f"a refused call changed project {pk}"
            return False
        assert expected == "ok", f"project {pk} in {self.model[pk].state}: expected {expected}, got success"
        if moves == 0:
            assert self._snapshot(pk) == before, f"a skipped decision changed project {pk}"
        self.model[pk].transitions += moves
        return True

    @property
    def cast(self):
        p = self.people
        return Cast(agent=p["agent"], officer=p["officer"], chair=p["chair"], finance=p["finance"],
                    mentor=p["mentor"])

    def _decide(self, pk, outcome, detail, expected_if_in_committee):
        """The committee decides ``outcome`` on the file: through its session's close
        when one holds it, else by a direct call, which the service refuses."""
        m = self.model[pk]
        if not m.held:
            expected = "transition_not_allowed" if m.state != "in_committee" else "guard_failed"
            call = lambda: services.project_decide(  # noqa: E731
                project_id=pk, actor=self.people["chair"], outcome=outcome)
            self._attempt(pk, expected, call)
            return False
        in_committee = m.state == "in_committee"
        expected = expected_if_in_committee if in_committee else "ok"
        if outcome == "approve" and (detail <= 0 or detail > m.requested or detail > CEILING):
            expected = "invalid_input"  # the chair's confirmation refuses it
        call = lambda: decide_in_session(pk, self.cast, outcome, str(detail))  # noqa: E731
        done = self._attempt(pk, expected, call, moves=1 if in_committee else 0)
        if done:
            m.held = False  # the session is closed
        return done and in_committee

    def _committed(self):
        # An approval stays committed, whatever becomes of the file, until a finance
        # officer gives a withdrawn file's commitment back (nothing is released here).
        return sum(
            (m.approved for m in self.model.values() if m.approved is not None and not m.given_back),
            Decimal("0.00"),
        )

    # --- rules ---------------------------------------------------------------------------

    # A few files per example, so that the other rules keep working on the same ones and
    # carry them deep into their lifecycle.
    @precondition(lambda self: len(self.model) < 3)
    @rule(target=projects, requested=amounts, with_documents=st.booleans())
    def create(self, requested, with_documents):
        n = next(_cin)
        beneficiary = services.beneficiary_create(
            actor=self.people["agent"], first_name="Samira", last_name=f"Haddou{n}", first_name_ar="سميرة",
            last_name_ar="حدو", cin=f"PR{100000 + n}", phone="0612345678", gender="F",
            birth_date=date(1990, 1, 1), commune=self.commune, is_woman_in_difficulty=True,
            consent_given=True, consent_date=date(2025, 1, 1),
        )
        valid = Decimal("0") < Decimal(requested) <= CEILING
        try:
            project = services.project_create(
                actor=self.people["agent"], program=self.program, beneficiary=beneficiary, title="Atelier",
                sector=self.sector, description="Équipement.", requested_amount=requested,
                own_contribution=requested if Decimal(requested) > 0 else "0",
            )
        except TamkeenError as error:
            assert not valid and error.code == "invalid_input", error.as_dict()
            return multiple()
        assert valid, f"a request of {requested} was accepted"
        self.model[project.pk] = Model(requested=Decimal(requested))
        if with_documents:
            self._attach_required(project.pk)
        return project.pk

    def _attach_required(self, pk):
        """Attach what the file lacks: each document is one audited act on its chain."""
        before = Document.objects.filter(project_id=pk).count()
        attach_required_documents(GrantProject.objects.get(pk=pk), self.people[self.model[pk].agent])
        m = self.model[pk]
        m.transitions += Document.objects.filter(project_id=pk).count() - before
        m.documents = True

    @rule(pk=projects)
    def attach_documents(self, pk):
        m = self.model[pk]
        if m.state in TERMINAL:
            before = (self._snapshot(pk), Document.objects.filter(project_id=pk).count())
            with pytest.raises(TamkeenError) as caught:
                services.document_attach(
                    project_id=pk, actor=self.people["agent"], doc_type="photo",
                    uploaded_file=SimpleUploadedFile("late.jpg", jpeg_bytes(), "image/jpeg"),
                )
            assert caught.value.code == "transition_not_allowed"
            assert (self._snapshot(pk), Document.objects.filter(project_id=pk).count()) == before
            return
        self._attach_required(pk)

    @rule(pk=projects, requested=amounts)
    def update_requested_amount(self, pk, requested):
        m = self.model[pk]
        if m.state not in EDITABLE:
            expected = "transition_not_allowed"
        elif not Decimal("0") < Decimal(requested) <= CEILING:
            expected = "invalid_input"
        else:
            expected = "ok"
        before = self._snapshot(pk)
        try:
            # The contribution follows, so the file keeps passing the contribution rule.
            services.project_update(
                project_id=pk, actor=self.people[m.agent], requested_amount=requested, own_contribution=requested,
            )
        except TamkeenError as error:
            assert error.code == expected, error.as_dict()
            assert self._snapshot(pk) == before
            return
        assert expected == "ok"
        m.requested = Decimal(requested)
        m.transitions += 1  # the edit, on the file's chain

    @rule(pk=projects, who=st.sampled_from(["agent", "dual"]))
    def submit(self, pk, who):
        m = self.model[pk]
        if m.state == "draft":
            expected = "ok" if m.documents else "guard_failed"
        else:
            expected = "transition_not_allowed"
        if expected == "ok" and who != m.agent:
            expected = "not_your_file"
        if self._attempt(pk, expected, lambda: services.project_submit(project_id=pk, actor=self.people[who])):
            m.state, m.submitted_by = "submitted", who

    @rule(pk=projects, who=st.sampled_from(["agent", "dual"]))
    def resubmit(self, pk, who):
        m = self.model[pk]
        expected = "ok" if m.state == "revision_requested" else "transition_not_allowed"
        if expected == "ok" and who != m.agent:
            expected = "not_your_file"
        if self._attempt(pk, expected, lambda: services.project_resubmit(project_id=pk, actor=self.people[who])):
            m.state, m.submitted_by = "submitted", who

    @rule(pk=projects)
    def return_docs(self, pk):
        m = self.model[pk]
        expected = "ok" if m.state == "submitted" else "transition_not_allowed"
        call = lambda: services.project_return_docs(  # noqa: E731
            project_id=pk, actor=self.people["officer"], reason=REASON)
        if self._attempt(pk, expected, call):
            m.state = "draft"

    @rule(pk=projects, who=st.sampled_from(["officer", "dual"]), fail=st.booleans())
    def screen(self, pk, who, fail):
        m = self.model[pk]
        # The service checks separation of duties before the state.
        if who == "dual" and m.submitted_by == "dual":
            expected = "separation_of_duties"
        elif m.state != "submitted":
            expected = "transition_not_allowed"
        else:
            expected = "ok"
        failures = ["Le local est déjà financé."] if fail else []
        call = lambda: services.project_screen(project_id=pk, actor=self.people[who], failures=failures)  # noqa: E731
        if self._attempt(pk, expected, call):
            m.state = "ineligible" if fail else "eligible"

    @rule(pk=projects, name=st.sampled_from(sorted(SIMPLE)))
    def simple_transition(self, pk, name):
        m = self.model[pk]
        source, target = SIMPLE[name]
        expected = "ok" if m.state == source else "transition_not_allowed"
        calls = {
            "enrol": lambda: services.project_enrol(project_id=pk, actor=self.people["officer"]),
            "complete_training": lambda: training_services.project_complete_training(
                project_id=pk, actor=self.people["officer"]),
            "open_funding": lambda: services.project_open_funding(project_id=pk, actor=self.people["finance"]),
            "equipment_received": lambda: (
                m.state == "funding" and receive_equipment(pk, Cast(
                    agent=self.people[m.agent], officer=self.people["officer"], chair=self.people["chair"],
                    finance=self.people["finance"], mentor=self.people["mentor"])),
                funding.project_confirm_equipment(project_id=pk, actor=self.people["officer"])),
            "launch": lambda: followup_services.project_launch(project_id=pk, actor=self.people["mentor"]),
        }
        if self._attempt(pk, expected, calls[name]):
            m.state = target

    @rule(pk=projects)
    def schedule(self, pk):
        """The officer puts the file on a new session's agenda."""
        m = self.model[pk]
        expected = "ok" if m.state == "eligible" else "transition_not_allowed"
        session = plan_session(self.program, self.cast)
        call = lambda: committee.session_add_item(  # noqa: E731
            session_id=session.pk, project_id=pk, actor=self.people["officer"])
        if self._attempt(pk, expected, call):
            m.state, m.held = "in_committee", True

    @rule(pk=projects)
    def take_off_agenda(self, pk):
        m = self.model[pk]
        if not m.held:
            return
        item = AgendaItem.objects.get(project_id=pk, removed=False, session__state__in=("planned", "open"))
        if item.session.state != "planned":
            return  # only a planned session's agenda changes; an open one decides at its close
        expected = "ok" if m.state == "in_committee" else "transition_not_allowed"
        call = lambda: committee.session_remove_item(  # noqa: E731
            session_id=item.session_id, item_id=item.pk, actor=self.people["officer"], reason=REASON)
        if self._attempt(pk, expected, call):
            m.state, m.held = "eligible", False

    @rule(pk=projects)
    def defer(self, pk):
        """A direct deferral: refused while a session holds the file."""
        m = self.model[pk]
        if m.state != "in_committee":
            expected = "transition_not_allowed"
        else:
            expected = "guard_failed" if m.held else "ok"
        call = lambda: services.project_defer(  # noqa: E731
            project_id=pk, actor=self.people["chair"], reason=REASON, hold=committee_hold(pk))
        if self._attempt(pk, expected, call):
            m.state = "eligible"

    @rule(pk=projects, outcome=st.sampled_from(["revise", "reject"]))
    def decide_against(self, pk, outcome):
        if self._decide(pk, outcome, REASON, "ok"):
            self.model[pk].state = {"revise": "revision_requested", "reject": "rejected"}[outcome]

    @rule(pk=projects, amount=amounts)
    def approve(self, pk, amount):
        m = self.model[pk]
        amount = Decimal(amount)
        # The confirmation checks the amount's limits, the close the envelope.
        expected = "budget_exceeded" if amount > ENVELOPE - self._committed() else "ok"
        if self._decide(pk, "approve", amount, expected):
            m.state, m.approved = "approved", amount

    @rule(pk=projects, outcome=st.sampled_from(["success", "failed", "abandoned"]),
          reason=st.sampled_from(["", "L'activité a cessé."]))
    def close(self, pk, outcome, reason):
        m = self.model[pk]
        if outcome == "abandoned" and not reason:
            expected = "invalid_input"
        elif m.state != "launched":
            expected = "transition_not_allowed"
        elif outcome != "abandoned":  # no follow-up visit is reported here: the plan is unfinished
            expected = "guard_failed"
        else:
            expected = "ok"
        call = lambda: followup_services.project_close(  # noqa: E731
            project_id=pk, actor=self.people["officer"], outcome=outcome, reason=reason)
        if self._attempt(pk, expected, call):
            m.state = "closed"

    @rule(pk=projects, who=st.sampled_from(["agent", "officer"]))
    def withdraw(self, pk, who):
        m = self.model[pk]
        expected = "ok" if m.state in ACTIVE or m.state == "suspended" else "transition_not_allowed"
        if expected == "ok" and who == "agent" and m.agent != "agent":
            expected = "not_your_file"
        call = lambda: services.project_withdraw(project_id=pk, actor=self.people[who], reason=REASON)  # noqa: E731
        if self._attempt(pk, expected, call):
            m.state = "withdrawn"

    @rule(pk=projects, to=st.sampled_from(["agent", "dual"]))
    def reassign(self, pk, to):
        """A program officer gives the file to another agent (``assign_agent``)."""
        m = self.model[pk]
        if m.state in TERMINAL:
            expected = "transition_not_allowed"
        elif m.agent == to:
            expected = "same_agent"
        else:
            expected = "ok"
        call = lambda: services.project_assign_agent(  # noqa: E731
            project_id=pk, actor=self.people["officer"], agent_id=self.people[to].pk, reason=REASON)
        if self._attempt(pk, expected, call):
            m.agent = to

    @rule(pk=projects)
    def give_back(self, pk):
        m = self.model[pk]
        if m.state != "withdrawn":
            expected = "transition_not_allowed"
        elif m.approved is None or m.given_back:
            expected = "invalid_input"  # nothing is left to give back
        else:
            expected = "ok"
        call = lambda: envelope_decommit(project_id=pk, actor=self.people["finance"], reason=REASON)  # noqa: E731
        if self._attempt(pk, expected, call):  # the give_back entry on the file's chain
            m.given_back = True

    @rule(pk=projects)
    def suspend(self, pk):
        m = self.model[pk]
        expected = "ok" if m.state in ACTIVE else "transition_not_allowed"
        call = lambda: services.project_suspend(project_id=pk, actor=self.people["officer"], reason=REASON)  # noqa: E731
        if self._attempt(pk, expected, call):
            m.state, m.before_suspension = "suspended", m.state

    @rule(pk=projects)
    def resume(self, pk):
        m = self.model[pk]
        expected = "ok" if m.state == "suspended" else "transition_not_allowed"
        if self._attempt(pk, expected, lambda: services.project_resume(project_id=pk, actor=self.people["officer"])):
            m.state, m.before_suspension = m.before_suspension, ""

    @rule(pk=projects, steps=st.integers(min_value=1, max_value=8))
    def advance(self, pk, steps):
        """Take the file's usual next steps, so that examples reach the later states."""
        for _ in range(steps):
            m = self.model[pk]
            if m.state == "draft":
                if not m.documents:
                    self.attach_documents(pk)
                self.submit(pk, m.agent)
            elif m.state == "submitted":
                self.screen(pk, "officer", False)
            elif m.state == "in_committee" and m.held:
                self.approve(pk, str(m.requested))
            elif m.state == "in_committee":
                self.defer(pk)
            elif m.state == "eligible":
                self.schedule(pk)
            elif m.state == "revision_requested":
                self.resubmit(pk, m.agent)
            elif m.state == "launched":
                self.close(pk, "success", "")
            elif m.state == "suspended":
                self.resume(pk)
            elif m.state in TERMINAL:
                break
            else:
                (name,) = [n for n, (source, _t) in SIMPLE.items() if source == m.state]
                self.simple_transition(pk, name)
            event(f"advanced to {self.model[pk].state}")

    # --- invariants ----------------------------------------------------------------------

    @invariant()
    def states_match_the_model(self):
        live = dict(GrantProject.objects.filter(program=self.program).values_list("pk", "state"))
        assert live == {pk: m.state for pk, m in self.model.items()}

    @invariant()
    def one_audit_entry_per_successful_call_with_a_contiguous_chain(self):
        for pk, m in self.model.items():
            chain = list(
                AuditEntry.objects.filter(entity_type="workflow.grantproject", entity_id=str(pk))
                .order_by("seq").values_list("seq", "transition", "from_state", "to_state")
            )
            assert len(chain) == m.transitions + 1, (pk, chain)
            assert [seq for seq, *_ in chain] == list(range(1, len(chain) + 1))
            assert chain[0][1:] == ("create", "", "draft")
            for (_s, _t, _f, to_state), (_s2, _t2, from_state, _to) in zip(chain, chain[1:], strict=False):
                assert to_state == from_state, chain
            assert chain[-1][3] == m.state

    @invariant()
    def the_envelope_is_never_over_committed(self):
        if not self.model:
            return
        committed = committed_amount(self.program)
        assert committed == self._committed()
        assert committed <= ENVELOPE

    @invariant()
    def approved_amounts_stay_within_the_limits(self):
        for pk, approved, requested in GrantProject.objects.filter(
            pk__in=self.model, approved_amount__isnull=False
        ).values_list("pk", "approved_amount", "requested_amount"):
            assert Decimal("0") < approved <= requested <= CEILING, pk
            assert approved == self.model[pk].approved


def test_the_lifecycle_keeps_its_invariants(db, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    run_state_machine_as_test(
        LifecycleMachine,
        settings=hypothesis_settings(
            max_examples=30, stateful_step_count=25, deadline=None,
            database=None,  # no .hypothesis/ directory in the working tree
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
