"""Replaying everything audited: the verifiers fold each chain's payloads into the
audited fields of its row (``ledger.machines.Fold``) and compare them, with the chain
head the row keeps (``audit_seq``, ``audit_head``), to the live row. A field changed in
the database without an entry, or a chain whose tail was cut off while the row was set
back, is found by ``verify_database`` and by the standalone verifier on an exported
bundle, located by entity and field."""

import copy
import json
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.db import connection

from approvals.models import CommitteeSession
from core.roles import Role
from disbursements import services as funding
from disbursements.models import Disbursement, PurchaseOrder
from followup.models import FollowUpVisit
from ledger import selectors as ledger_selectors
from ledger.evidence import entry_records_fast, public_keys, verify_database, verify_entity
from ledger.machines import definitions, live_state_of, live_states
from ledger.models import AuditEntry, entity_type_of
from ledger.payload import to_jsonable
from ledger.tamkeen_verify import PROBLEM_CODES, BundleError, verify_bundle, verify_ledger
from notifications.services import program_deadline_set
from tests._audit_support import export, standalone, superuser_bypass
from tests._second_factor import code_of
from twofactor import services as second_factor_services
from twofactor.models import SecondFactor
from workflow import services
from workflow.models import GrantProject, Program

PASSWORD = "pass-Tamkeen-2025"
PROJECT, PROGRAM = "workflow.grantproject", "workflow.program"
SESSION, ORDER = "approvals.committeesession", "disbursements.purchaseorder"
DISBURSEMENT, VISIT = "disbursements.disbursement", "workflow.followupvisit"
FACTOR = "twofactor.secondfactor"


@dataclass
class World:
    """One entity of every audited machine, each with its whole history."""

    program: Program
    closed: GrantProject  # through a committee session, a purchase order and its visits
    launched: GrantProject
    draft: GrantProject  # edited, then suspended
    released: Disbursement  # requested, authorized and released by three people
    rejected: Disbursement
    session: CommitteeSession
    order: PurchaseOrder
    visit: FollowUpVisit  # reported
    second_factor: SecondFactor  # enrolled, then reset by an administrator
    cast: object
    authorizer: object
    treasurer: object


@pytest.fixture
def world(make_project, make_user, cast, program):
    services.program_update(program_id=program.pk, actor=cast.officer, quorum_percent=60, envelope="900000.00")
    # Another app's change signed on the program's chain (its time limits): no setting.
    program_deadline_set(program_id=program.pk, actor=cast.officer, step="screening", remind_after_days=3,
                         escalate_after_days=8)
    closed = make_project("closed")
    launched = make_project("launched", amount="50000.00")
    authorizer = make_user(Role.AUTHORIZING_OFFICER, username="ordonnateur")
    treasurer = make_user(Role.TREASURER, username="comptable")
    released = funding.disbursement_request(project_id=launched.pk, actor=cast.finance, amount="1500.00",
                                            purpose="Première tranche")
    funding.disbursement_authorize(disbursement_id=released.pk, actor=authorizer, note="Conforme.")
    funding.disbursement_release(disbursement_id=released.pk, actor=treasurer, password=PASSWORD,
                                 payment_reference="VIR-2025-0042", idempotency_key="release-42")
    rejected = funding.disbursement_request(project_id=launched.pk, actor=cast.finance, amount="700.00")
    funding.disbursement_reject(disbursement_id=rejected.pk, actor=authorizer, reason="Facture manquante.")
    draft = make_project("draft")
    services.project_update(project_id=draft.pk, actor=cast.agent, requested_amount="55000.00", title="Atelier")
    services.project_update(project_id=draft.pk, actor=cast.agent, description="Une seule machine.")
    services.project_suspend(project_id=draft.pk, actor=cast.officer, reason="Pièces à vérifier.")
    key = "3132333435363738393031323334353637383930"
    second_factor_services.totp_enrol(actor=authorizer, key=key, code=code_of(key), session_verified=False)
    second_factor_services.second_factor_reset(actor=make_user(Role.ADMIN), user_id=authorizer.pk,
                                               reason="Téléphone perdu.")
    return World(
        program=Program.objects.get(pk=program.pk), closed=GrantProject.objects.get(pk=closed.pk),
        launched=GrantProject.objects.get(pk=launched.pk), draft=GrantProject.objects.get(pk=draft.pk),
        released=Disbursement.objects.get(pk=released.pk),
        rejected=Disbursement.objects.get(pk=rejected.pk),
        session=CommitteeSession.objects.get(items__project=closed),
        order=PurchaseOrder.objects.get(project=closed),
        visit=FollowUpVisit.objects.filter(project=closed).order_by("sequence").last(),
        second_factor=SecondFactor.objects.get(user=authorizer),
        cast=cast, authorizer=authorizer, treasurer=treasurer,
    )


def execute(sql, params=()):
    """Raw SQL as an attacker with database rights runs it (the ledger's PostgreSQL
    triggers bypassed)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with superuser_bypass():
                cursor.execute(sql, params)
        else:
            cursor.execute(sql, params)


def codes(report):
    return [problem.code for problem in report.problems]


def the_problem(report, code):
    found = [problem for problem in report.problems if problem.code == code]
    assert len(found) == 1, report.summary()
    return found[0]


def both_reports(tmp_path, name="bundle"):
    """What ``verify_database`` finds, and what the standalone verifier finds in an
    exported bundle (as objects, and as the JSON its command line prints)."""
    bundle = export(tmp_path / name)
    code, output = standalone([bundle, "--json"])
    return verify_database(full=True), verify_bundle(str(bundle), check_signatures=True), (code, output)


# --- The untouched ledger -------------------------------------------------------------------


def test_the_untouched_ledger_verifies_with_every_audited_field(world, tmp_path):
    database, bundle, (code, output) = both_reports(tmp_path)
    assert database.ok, database.summary()
    assert bundle.ok, bundle.summary()
    assert code == 0, output
    for entity in (world.program, world.closed, world.draft, world.released, world.session, world.order,
                   world.visit):
        assert verify_entity(entity).ok
        assert ledger_selectors.entity_verification(entity).ok


def test_the_live_state_holds_the_chain_head_and_the_folded_fields(world, tmp_path):
    d = world.released
    last = AuditEntry.objects.for_entity(d).order_by("seq").last()
    assert live_states()[DISBURSEMENT][str(d.pk)] == {
        "state": "released", "seq": last.seq, "head": last.entry_hash, "amount": "1500.00",
        "project": world.launched.pk, "purchase_order": None, "purpose": "Première tranche",
        "requested_by": world.cast.finance.pk, "authorized_by": world.authorizer.pk,
        "released_by": world.treasurer.pk, "payment_reference": "VIR-2025-0042", "release_key": "release-42",
        "closed_by": None, "closing_reason": "",
    }
    assert live_state_of(d) == live_states()[DISBURSEMENT][str(d.pk)]
    project = live_states()[PROJECT][str(world.closed.pk)]
    assert (project["approved_amount"], project["outcome"], project["program"]) == (
        "60000.00", "success", world.program.code)
    assert live_states()[PROGRAM][str(world.program.pk)]["envelope"] == "900000.00"
    draft = live_states()[PROJECT][str(world.draft.pk)]
    assert (draft["requested_amount"], draft["state_before_suspension"], draft["approved_amount"]) == (
        "55000.00", "draft", None)
    assert live_states()[VISIT][str(world.visit.pk)]["mentor"] == world.cast.mentor.pk
    # The bundle carries the same, and the fold the standalone verifier needs.
    bundle = export(tmp_path / "bundle")
    assert json.loads((bundle / "live_state.json").read_text())[DISBURSEMENT][str(d.pk)] == json.loads(
        json.dumps(live_states()[DISBURSEMENT][str(d.pk)]))
    machines = json.loads((bundle / "state_machines.json").read_text())
    assert {"field": "released_by", "kind": "id", "set": {"create": {"value": None}, "release": {"actor": True}}} in (
        machines[DISBURSEMENT]["fold"])


def test_every_folded_field_of_every_machine_is_determined_by_the_chains(world):
    """Each field of each fold, changed in the live state alone, is the one difference
    found: the payloads carry every value the fold reads."""
    records = list(entry_records_fast())
    machines, live = definitions(), live_states()
    entities = {
        PROGRAM: [world.program], PROJECT: [world.closed, world.launched, world.draft], SESSION: [world.session],
        ORDER: [world.order], DISBURSEMENT: [world.released, world.rejected], VISIT: [world.visit],
        FACTOR: [world.second_factor],
    }
    # A person's account keeps only its chain (the roles are groups, not its columns).
    assert set(entities) == set(machines) - {"access.account"}
    assert not machines["access.account"]["fold"]
    assert verify_ledger(records, [], public_keys(), machines, live).ok
    for entity_type, rows in entities.items():
        assert machines[entity_type]["fold"], entity_type
        for entity in rows:
            for fold in machines[entity_type]["fold"]:
                changed = copy.deepcopy(live)
                row = changed[entity_type][str(entity.pk)]
                row[fold["field"]] = "tampered" if row[fold["field"]] != "tampered" else "other"
                report = verify_ledger(records, [], public_keys(), machines, changed)
                problem = the_problem(report, "live_field_mismatch")
                assert (problem.entity_type, problem.entity_id, problem.detail["field"]) == (
                    entity_type, str(entity.pk), fold["field"]), report.summary()


# --- A field changed in the database, machine by machine ------------------------------------


# Each: (model, entity, field, the value written in the database, then how the live state
# and the chain give the field).


def _project_amount(world):
    return GrantProject, world.closed, "approved_amount", "45000.00", "45000.00", "60000.00"


def _project_submitter(world):
    officer, agent = world.cast.officer.pk, world.cast.agent.pk
    return GrantProject, world.closed, "submitted_by", officer, officer, agent


def _program_envelope(world):
    return Program, world.program, "envelope", "5000000.00", "5000000.00", "900000.00"


def _session_date(world):
    moment = world.session.scheduled_for
    later = moment + timedelta(days=3)
    return CommitteeSession, world.session, "scheduled_for", later, to_jsonable(later), to_jsonable(moment)


def _order_amount(world):
    return PurchaseOrder, world.order, "amount", "99000.00", "99000.00", format(world.order.amount, "f")


def _order_receiver(world):
    officer, mentor = world.cast.officer.pk, world.cast.mentor.pk
    return PurchaseOrder, world.order, "received_by", officer, officer, mentor


def _disbursement_releaser(world):
    mentor = world.cast.mentor.pk
    return Disbursement, world.released, "released_by", mentor, mentor, world.treasurer.pk


def _disbursement_reference(world):
    return Disbursement, world.released, "payment_reference", "VIR-AILLEURS", "VIR-AILLEURS", "VIR-2025-0042"


def _disbursement_amount(world):
    return Disbursement, world.rejected, "amount", "70000.00", "70000.00", "700.00"


def _visit_mentor(world):
    officer, mentor = world.cast.officer.pk, world.cast.mentor.pk
    return FollowUpVisit, world.visit, "mentor", officer, officer, mentor


UPDATES = [_project_amount, _project_submitter, _program_envelope, _session_date, _order_amount, _order_receiver,
           _disbursement_releaser, _disbursement_reference, _disbursement_amount, _visit_mentor]


@pytest.mark.parametrize("update", UPDATES, ids=[u.__name__.strip("_") for u in UPDATES])
def test_a_field_updated_without_an_entry_is_found_by_both_verifiers(world, tmp_path, update):
    model, entity, field, written, live, replayed = update(world)
    entity_type = entity_type_of(model)
    model.objects.filter(pk=entity.pk).update(**{model._meta.get_field(field).attname: written})
    assert live_states()[entity_type][str(entity.pk)][field] == live

    database, bundle, (code, output) = both_reports(tmp_path)
    for report in (database, bundle):
        assert codes(report) == ["live_field_mismatch"], report.summary()
        problem = report.problems[0]
        assert (problem.entity_type, problem.entity_id, problem.detail) == (
            entity_type, str(entity.pk), {"field": field, "live": live, "replayed": replayed})
        assert f"entity {entity_type}#{entity.pk}" in str(problem)
    assert code == 1
    said = json.loads(output)["problems"]
    assert [(p["code"], p["entity_type"], p["entity_id"], p["detail"]["field"]) for p in said] == [
        ("live_field_mismatch", entity_type, str(entity.pk), field)]
    # The entity's own page says it too.
    assert codes(verify_entity(model.objects.get(pk=entity.pk))) == ["live_field_mismatch"]


def test_a_field_put_back_as_it_was_verifies_again(world):
    GrantProject.objects.filter(pk=world.closed.pk).update(approved_amount="45000.00")
    assert codes(verify_database()) == ["live_field_mismatch"]
    GrantProject.objects.filter(pk=world.closed.pk).update(approved_amount="60000.00")
    assert verify_database().ok


# --- The chain head ---------------------------------------------------------------------------


def _cut_tail(entity, count):
    """Delete the last ``count`` entries of ``entity``'s chain (not integrated yet)."""
    for entry in list(AuditEntry.objects.for_entity(entity).order_by("-seq")[:count]):
        execute("DELETE FROM workflow_auditentry WHERE id = %s", [entry.pk])
    return AuditEntry.objects.for_entity(entity).order_by("seq").last()


def test_a_cut_tail_with_the_state_set_back_is_found_by_the_chain_head(world, tmp_path):
    project = world.launched
    services.project_suspend(project_id=project.pk, actor=world.cast.officer, reason="Contrôle sur place.")
    before = GrantProject.objects.get(pk=project.pk)
    last = _cut_tail(project, 1)
    # The suspension never happened, says the row — but it still keeps the suspension's head.
    GrantProject.objects.filter(pk=project.pk).update(state="launched", state_before_suspension="")

    database, bundle, (code, output) = both_reports(tmp_path)
    expected = {"field": "seq", "live": before.audit_seq, "replayed": last.seq}
    for report in (database, bundle):
        assert codes(report) == ["live_head_mismatch"], report.summary()
        problem = report.problems[0]
        assert (problem.entity_type, problem.entity_id, problem.detail) == (PROJECT, str(project.pk), expected)
    assert code == 1 and json.loads(output)["problems"][0]["code"] == "live_head_mismatch"


def test_a_cut_tail_with_the_row_and_its_head_set_back_is_found_by_the_folded_fields(world, tmp_path):
    """The attacker also sets ``audit_seq``/``audit_head`` back to the new last entry: the
    state and the head agree with the shortened chain, the release's people and
    reference left on the row do not."""
    d = world.released
    last = _cut_tail(d, 1)  # the release
    Disbursement.objects.filter(pk=d.pk).update(state="authorized", audit_seq=last.seq, audit_head=last.entry_hash)

    database, bundle, _said = both_reports(tmp_path)
    for report in (database, bundle):
        assert codes(report) == ["live_field_mismatch"], report.summary()
        problem = report.problems[0]
        assert (problem.entity_type, problem.entity_id, problem.detail) == (
            DISBURSEMENT, str(d.pk), {"field": "released_by", "live": world.treasurer.pk, "replayed": None})


def test_an_entry_written_without_the_row_is_found_by_the_chain_head(world):
    """An entry appended to a chain while the row kept its old head (and the state moved
    to match): the row's head is no longer the chain's last entry."""
    from tests._audit_support import append_forged

    project = world.launched
    forged = append_forged(project.pk, transition="suspend", to_state="suspended",
                           actor_id=world.cast.officer.pk, payload={"reason": "hors service"})
    GrantProject.objects.filter(pk=project.pk).update(state="suspended", state_before_suspension="launched")
    problem = the_problem(verify_database(), "live_head_mismatch")
    assert (problem.entity_id, problem.detail) == (
        str(project.pk), {"field": "seq", "live": forged.seq - 1, "replayed": forged.seq})


# --- Rows without chains, chains without rows ---------------------------------------------------


def test_a_row_without_a_chain_and_a_chain_without_a_row_are_found(world, tmp_path):
    stray = PurchaseOrder.objects.create(project=world.launched, description="Sans trace", created_by=world.cast.finance)
    draft = services.project_create(
        actor=world.cast.agent, program=world.program, beneficiary=world.closed.beneficiary, title="Retiré",
        sector=world.closed.sector, description="Effacé de la base.", requested_amount="10000.00",
    )
    execute("DELETE FROM workflow_grantproject WHERE id = %s", [draft.pk])

    database, bundle, _said = both_reports(tmp_path)
    for report in (database, bundle):
        assert sorted(codes(report)) == ["live_state_mismatch", "orphan_chain"], report.summary()
        missing = the_problem(report, "live_state_mismatch")
        assert (missing.entity_type, missing.entity_id, missing.detail) == (
            ORDER, str(stray.pk), {"live": "draft", "replayed": None})
        assert "no audit chain" in missing.message
        orphan = the_problem(report, "orphan_chain")
        assert (orphan.entity_type, orphan.entity_id) == (PROJECT, str(draft.pk))


# --- The verifier on its own --------------------------------------------------------------------


def test_new_problem_codes_are_documented():
    assert {"live_head_mismatch", "live_field_mismatch", "live_state_mismatch", "orphan_chain"} <= set(PROBLEM_CODES)


def test_a_bare_live_state_is_compared_alone(world):
    """A live state of the first format ({id: state}) still verifies the state."""
    records = list(entry_records_fast())
    machines = definitions()
    bare = {entity_type: {pk: row["state"] for pk, row in rows.items()} for entity_type, rows in live_states().items()}
    assert verify_ledger(records, [], public_keys(), machines, bare).ok
    bare[PROJECT][str(world.closed.pk)] = "launched"
    problem = the_problem(verify_ledger(records, [], public_keys(), machines, bare), "live_state_mismatch")
    assert problem.detail == {"live": "launched", "replayed": "closed"}


def test_a_malformed_fold_is_unusable_input(world):
    machines = definitions()
    machines[PROJECT]["fold"][0]["set"]["create"] = {"payload": []}
    with pytest.raises(BundleError, match="fold of the state machine 'workflow.grantproject'"):
        verify_ledger(list(entry_records_fast()), [], public_keys(), machines, live_states())
