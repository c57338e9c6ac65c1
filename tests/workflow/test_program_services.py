"""A program's settings through its audited services (workflow.services.programs): each
change is a signed entry of the program's own chain, the chain verifies, a wrong input
is coded and changes nothing, the envelope is never lowered below what is committed,
and two officers changing one program at once are serialised (PostgreSQL)."""

from decimal import Decimal

import pytest

from core.exceptions import InvalidInput, NotFound, PermissionDenied
from core.roles import Role
from disbursements.selectors import committed_amount
from ledger import selectors as ledger_selectors
from ledger.evidence import verify_database
from ledger.machines import definitions, live_states
from ledger.models import AuditEntry
from tests._concurrency import race
from workflow import services
from workflow.models import Program

PROGRAM = "workflow.program"


def new_program(actor, **fields):
    values = {"name": "AGR Zaio", "year": 2026, "envelope": "2 000 000,00", "project_ceiling": "150000"}
    values.update(fields)
    return services.program_create(actor=actor, code=values.pop("code", "zaio-2026"), **values)


def trail(program):
    return list(AuditEntry.objects.for_entity(program).order_by("seq")
                .values_list("seq", "transition", "from_state", "to_state"))


def row(program):
    """Everything a program's row holds, to check that a refused change left it alone."""
    return Program.objects.filter(pk=program.pk).values().get()


# --- create ---------------------------------------------------------------------------------


def test_creating_a_program_opens_its_chain_with_every_setting(cast):
    program = new_program(cast.officer, required_documents=["cin_copy", "business_plan"],
                          followup_offsets=[12, 3, 6], contribution_share="0,35", is_active=False)

    assert trail(program) == [(1, "create", "", "in_force")]
    entry = AuditEntry.objects.for_entity(program).get()
    assert entry.actor_id == cast.officer.pk and entry.actor_role == "program_officer"
    settings = entry.payload["settings"]
    assert entry.payload["code"] == "zaio-2026"
    assert settings["envelope"] == "2000000.00" and settings["project_ceiling"] == "150000.00"
    assert settings["contribution_share"] == "0.350"
    assert settings["followup_offsets"] == [3, 6, 12]
    assert settings["required_documents"] == ["cin_copy", "business_plan"]
    assert settings["is_active"] is False
    stored = Program.objects.get(pk=program.pk)
    assert stored.envelope == Decimal("2000000.00") and stored.status == "in_force"
    assert (stored.audit_seq, stored.audit_head) == (1, entry.entry_hash)
    assert ledger_selectors.entity_verification(stored).ok


def test_an_administrator_may_set_up_a_program_too(make_user):
    admin = make_user(Role.ADMIN)
    program = new_program(admin)
    assert AuditEntry.objects.for_entity(program).get().actor_role == "admin"


def test_creating_reports_every_wrong_field_and_saves_nothing(cast):
    before = (Program.objects.count(), AuditEntry.objects.count())
    with pytest.raises(InvalidInput) as refused:
        new_program(cast.officer, code="Not a slug!", name=" ", year=1999, envelope="abc",
                    max_age=17, min_age=18, followup_offsets=[0, 3], required_documents=["passport"])
    assert refused.value.code == "invalid_input"
    assert set(refused.value.field_errors) == {
        "code", "name", "year", "envelope", "max_age", "followup_offsets", "required_documents"}
    assert (Program.objects.count(), AuditEntry.objects.count()) == before


def test_a_code_is_used_once(cast, program):
    with pytest.raises(InvalidInput) as refused:
        new_program(cast.officer, code=program.code)
    assert list(refused.value.field_errors) == ["code"]


def test_the_ceiling_cannot_exceed_the_envelope(cast):
    with pytest.raises(InvalidInput) as refused:
        new_program(cast.officer, envelope="100000", project_ceiling="150000")
    assert list(refused.value.field_errors) == ["project_ceiling"]


@pytest.mark.parametrize("role", [Role.ASSOCIATION_AGENT, Role.AUDITOR, Role.COMMITTEE_CHAIR, Role.FINANCE_OFFICER])
def test_other_roles_cannot_set_up_or_change_a_program(make_user, program, role):
    user = make_user(role)
    before = row(program)
    with pytest.raises(PermissionDenied):
        new_program(user)
    with pytest.raises(PermissionDenied):
        services.program_update(program_id=program.pk, actor=user, name="Renamed")
    assert row(program) == before
    assert not Program.objects.filter(code="zaio-2026").exists()


# --- update ---------------------------------------------------------------------------------


def test_each_change_is_a_signed_configure_entry_with_before_and_after(cast):
    program = new_program(cast.officer)
    services.program_update(program_id=program.pk, actor=cast.officer, envelope="2500000",
                            required_documents=["cin_copy"], followup_offsets=[6, 3], name="AGR Zaïo")
    services.program_update(program_id=program.pk, actor=cast.officer, training_threshold="75", is_active=False)

    assert trail(program) == [(1, "create", "", "in_force"), (2, "configure", "in_force", "in_force"),
                              (3, "configure", "in_force", "in_force")]
    entries = list(AuditEntry.objects.for_entity(program).order_by("seq"))
    assert entries[1].payload == {"changes": {
        "name": {"before": "AGR Zaio", "after": "AGR Zaïo"},
        "envelope": {"before": "2000000.00", "after": "2500000.00"},
        "required_documents": {"before": ["cin_copy", "residence_certificate", "business_plan"],
                               "after": ["cin_copy"]},
        "followup_offsets": {"before": [3, 6, 12, 24], "after": [3, 6]},
    }}
    assert entries[2].payload == {"changes": {"training_threshold": {"before": 80, "after": 75},
                                              "is_active": {"before": True, "after": False}}}
    assert entries[2].prev_hash == entries[1].entry_hash
    stored = Program.objects.get(pk=program.pk)
    assert (stored.name, stored.envelope, stored.required_documents, stored.followup_offsets,
            stored.training_threshold, stored.is_active) == (
        "AGR Zaïo", Decimal("2500000.00"), ["cin_copy"], [3, 6], 75, False)
    assert (stored.audit_seq, stored.audit_head) == (3, entries[2].entry_hash)
    verification = ledger_selectors.entity_verification(stored)
    assert verification.ok and verification.entries == 3
    assert verify_database().ok


def test_a_call_that_changes_nothing_records_nothing(cast):
    program = new_program(cast.officer)
    services.program_update(program_id=program.pk, actor=cast.officer, envelope="2000000.00", name="AGR Zaio",
                            required_documents=["business_plan", "residence_certificate", "cin_copy"])
    assert trail(program) == [(1, "create", "", "in_force")]


def test_a_wrong_change_is_coded_on_its_fields_and_changes_nothing(cast):
    program = new_program(cast.officer)
    before, entries = row(program), trail(program)
    with pytest.raises(InvalidInput) as refused:
        services.program_update(program_id=program.pk, actor=cast.officer, envelope="1.500", min_age=70,
                                contribution_share="1.2", followup_offsets=[3, 121], training_threshold="lots",
                                name="Nouveau nom")
    assert refused.value.code == "invalid_input"
    assert set(refused.value.field_errors) == {
        "envelope", "max_age", "contribution_share", "followup_offsets", "training_threshold"}
    assert row(program) == before and trail(program) == entries


def test_the_code_and_unknown_fields_cannot_be_changed(cast):
    program = new_program(cast.officer)
    with pytest.raises(InvalidInput) as refused:
        services.program_update(program_id=program.pk, actor=cast.officer, code="other", audit_seq=9)
    assert set(refused.value.field_errors) == {"code", "audit_seq"}
    assert Program.objects.get(pk=program.pk).code == "zaio-2026"


def test_an_unknown_program_is_not_found(cast):
    with pytest.raises(NotFound):
        services.program_update(program_id=999999, actor=cast.officer, name="x")


def test_the_envelope_is_not_lowered_below_what_is_committed(cast, program, make_project):
    make_project("approved", amount="55000.00")
    make_project("approved", amount="45000.00")
    assert committed_amount(program) == Decimal("100000.00")
    before, entries = row(program), trail(program)

    with pytest.raises(InvalidInput) as refused:
        services.program_update(program_id=program.pk, actor=cast.officer, envelope="99999.99",
                                project_ceiling="90000")
    assert refused.value.code == "envelope_below_committed"
    assert list(refused.value.field_errors) == ["envelope"]
    assert "100,000.00" in refused.value.field_errors["envelope"][0]
    assert row(program) == before and trail(program) == entries

    # Down to exactly what is committed is allowed.
    services.program_update(program_id=program.pk, actor=cast.officer, envelope="100000", project_ceiling="90000")
    assert Program.objects.get(pk=program.pk).envelope == Decimal("100000.00")


# --- programs made before their changes were audited ---------------------------------------


def test_a_program_made_without_the_services_verifies_until_its_first_change(cast, program):
    # The conftest's program is made with the ORM, as the admin of old and the demo seed did.
    assert trail(program) == []
    assert str(program.pk) not in live_states().get(PROGRAM, {})
    assert verify_database().ok
    assert ledger_selectors.entity_verification(program).ok

    services.program_update(program_id=program.pk, actor=cast.officer, quorum_percent=60)

    assert trail(program) == [(1, "create", "", "in_force"), (2, "configure", "in_force", "in_force")]
    opening = AuditEntry.objects.for_entity(program).get(seq=1)
    assert opening.payload["recorded_at_first_change"] is True
    assert opening.payload["settings"]["quorum_percent"] == 50  # as it was until this change
    live = live_states()[PROGRAM][str(program.pk)]
    head = AuditEntry.objects.for_entity(program).get(seq=2).entry_hash
    assert (live["state"], live["seq"], live["head"]) == ("in_force", 2, head)
    assert (live["code"], live["quorum_percent"], live["envelope"]) == (program.code, 60, format(program.envelope, "f"))
    assert verify_database().ok
    assert ledger_selectors.entity_verification(Program.objects.get(pk=program.pk)).ok


def test_the_ledger_knows_the_programs_machine():
    machine = definitions()[PROGRAM]
    assert machine["initial"] == "in_force"
    assert machine["keeps_state"] == ["configure"]


# --- two officers at once (PostgreSQL) ------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.usefixtures("reference_data")
def test_two_officers_changing_one_program_at_once_are_serialised(cast, make_user, slow_audit):
    program = new_program(cast.officer)
    other = make_user(Role.PROGRAM_OFFICER, username="officer-2")

    outcomes = race(
        lambda: services.program_update(program_id=program.pk, actor=cast.officer, envelope="2100000"),
        lambda: services.program_update(program_id=program.pk, actor=other, envelope="2200000"),
    )

    assert outcomes == ["ok", "ok"]
    first, second = (entry.payload["changes"]["envelope"]
                     for entry in AuditEntry.objects.for_entity(program).filter(seq__gt=1).order_by("seq"))
    # The second waited for the first's lock and saw its envelope: no change was lost.
    assert first["before"] == "2000000.00" and second["before"] == first["after"]
    assert Program.objects.get(pk=program.pk).envelope == Decimal(second["after"])
    assert [seq for seq, *_rest in trail(program)] == [1, 2, 3]
    assert ledger_selectors.entity_verification(program).ok
