"""Malformed input to the intake and decision services: every problem is refused with a
coded ``invalid_input`` whose ``field_errors`` name the field, and nothing is saved."""

from datetime import date, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from approvals import services as committee
from core.exceptions import TamkeenError
from ledger.models import AuditEntry
from tests._committee_support import declare_and_vote, fresh_item, item_of
from workflow import services
from workflow.models import ActivitySector, Beneficiary, Commune, Document, GrantProject


def _rows():
    return {
        "beneficiaries": list(Beneficiary.objects.order_by("pk").values()),
        "projects": list(GrantProject.objects.order_by("pk").values()),
        "documents": list(Document.objects.order_by("pk").values()),
        "audit": AuditEntry.objects.count(),
    }


def _refused(call, code="invalid_input"):
    """Run ``call``; it must raise ``code`` and save nothing. Return its field errors."""
    before = _rows()
    with pytest.raises(TamkeenError) as caught:
        call()
    assert caught.value.code == code, caught.value.as_dict()
    assert _rows() == before
    assert all(messages and all(m.strip() for m in messages) for messages in caught.value.field_errors.values())
    return caught.value.field_errors


@pytest.fixture
def person(cast):
    """Valid beneficiary fields; each test spoils one or more."""

    def fields(**overrides):
        values = {
            "first_name": "Khadija", "last_name": "Ouali", "first_name_ar": "خديجة", "last_name_ar": "الوالي",
            "cin": "SL123456", "phone": "0612345678", "gender": "F", "birth_date": date(1985, 7, 14),
            "commune": Commune.objects.get(code="selouane"), "is_woman_in_difficulty": True,
            "consent_given": True, "consent_date": date(2025, 3, 1),
        }
        values.update(overrides)
        return values

    def create(**overrides):
        return services.beneficiary_create(actor=cast.agent, **fields(**overrides))

    return create


def test_the_valid_fields_are_accepted_and_normalised(person):
    beneficiary = person(cin=" sl-123456 ", phone="06 12 34 56 78")
    assert (beneficiary.cin, beneficiary.phone) == ("SL123456", "+212612345678")


# --- Beneficiary ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cin", ["", "123456", "S1234", "S1234567", "ABC12345", "S12345A", "É123456", "12345S", "SL12345678"]
)
def test_a_malformed_cin_is_refused(cin, person):
    assert "cin" in _refused(lambda: person(cin=cin))


@pytest.mark.parametrize(
    "phone",
    ["", "061234567", "06123456789", "0812345678", "0412345678", "+33612345678", "+2126123456789",
     "06 12 34 56 7A", "612345678"],
)
def test_a_malformed_phone_is_refused(phone, person):
    assert list(_refused(lambda: person(phone=phone))) == ["phone"]


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("06 12 34 56 78", "+212612345678"),
        ("+212612345678", "+212612345678"),
        ("00212612345678", "+212612345678"),
        ("07 00 11 22 33", "+212700112233"),
        ("05 36 33 44 55", "+212536334455"),
    ],
)
def test_landlines_and_mobiles_are_stored_in_e164(typed, stored, person):
    assert person(phone=typed).phone == stored


def test_an_unknown_commune_is_refused(person):
    ghost = Commune(pk=987654, code="ghost", name_fr="Nulle part", name_ar="لا مكان", kind="rural")
    assert list(_refused(lambda: person(commune=ghost))) == ["commune"]


def test_a_missing_commune_is_refused(person):
    assert list(_refused(lambda: person(commune=None))) == ["commune"]


def test_a_beneficiary_without_a_category_is_refused(person):
    errors = _refused(lambda: person(is_woman_in_difficulty=False, has_disability=False))
    assert list(errors) == ["is_woman_in_difficulty"]


def test_a_man_cannot_be_a_woman_in_difficulty(person):
    assert list(_refused(lambda: person(gender="M"))) == ["gender"]


def test_an_unknown_gender_is_refused(person):
    assert list(_refused(lambda: person(gender="X"))) == ["gender"]


def test_a_disability_without_proof_is_refused(person):
    errors = _refused(lambda: person(is_woman_in_difficulty=False, gender="M", has_disability=True))
    assert list(errors) == ["disability_proof"]


def test_a_proof_without_a_disability_is_refused(person):
    assert list(_refused(lambda: person(disability_proof="card"))) == ["disability_proof"]


def test_consent_without_a_date_is_refused(person):
    assert list(_refused(lambda: person(consent_date=None))) == ["consent_date"]


def test_a_birth_date_in_the_future_is_refused(person):
    assert list(_refused(lambda: person(birth_date=date.today() + timedelta(days=1)))) == ["birth_date"]


def test_every_bad_field_is_reported_at_once(person):
    errors = _refused(lambda: person(cin="12", phone="0812345678", gender="M", commune=None))
    assert set(errors) == {"cin", "phone", "gender", "commune"}


def test_an_unknown_field_is_refused(person):
    assert list(_refused(lambda: person(nickname="Khadi"))) == ["nickname"]


def test_a_duplicate_cin_is_refused(person):
    person(cin="SL123456")
    assert list(_refused(lambda: person(cin="sl 123456", last_name="Autre"))) == ["cin"]


# --- Project ----------------------------------------------------------------------------


@pytest.fixture
def new_project(cast, program, make_beneficiary):
    beneficiary = make_beneficiary()

    def create(**overrides):
        values = {
            "actor": cast.agent, "program": program, "beneficiary": beneficiary, "title": "Pâtisserie",
            "sector": ActivitySector.objects.get(code="pastry"), "description": "Four et pétrin.",
            "requested_amount": "40000.00", "own_contribution": "20000.00",
        }
        values.update(overrides)
        return services.project_create(**values)

    return create


@pytest.mark.parametrize(
    "amount",
    ["-100.00", "0", "0.00", "100000.01", "250000", "100.005", "12.345", 100.5, 0.1, "abc", "", None,
     "NaN", "Infinity", "1e12", "45.000,00.5"],
    ids=lambda a: repr(a),
)
def test_a_bad_requested_amount_is_refused(amount, new_project):
    assert list(_refused(lambda: new_project(requested_amount=amount))) == ["requested_amount"]


@pytest.mark.parametrize("amount", ["1.500", "45.000", "45000.000"])
def test_an_amount_written_with_three_decimals_is_refused_even_ending_in_zero(amount, new_project):
    assert list(_refused(lambda: new_project(requested_amount=amount))) == ["requested_amount"]


@pytest.mark.parametrize("amount", ["-0.01", "1.001", 10.0, "x"], ids=lambda a: repr(a))
def test_a_bad_own_contribution_is_refused(amount, new_project):
    assert list(_refused(lambda: new_project(own_contribution=amount))) == ["own_contribution"]


def test_both_bad_amounts_are_reported_at_once(new_project):
    errors = _refused(lambda: new_project(requested_amount="-5", own_contribution=1.5))
    assert set(errors) == {"requested_amount", "own_contribution"}


@pytest.mark.parametrize(
    ("typed", "stored"), [("45000", "45000.00"), ("45 000,50", "45000.50"), ("100000.00", "100000.00")]
)
def test_a_well_formed_amount_is_stored_with_two_decimals(typed, stored, new_project):
    assert str(new_project(requested_amount=typed).requested_amount) == stored


@pytest.mark.parametrize("field", ["title", "description"])
def test_a_project_needs_a_title_and_a_description(field, new_project):
    assert list(_refused(lambda: new_project(**{field: "   "}))) == [field]


def test_a_project_needs_a_sector(new_project):
    assert list(_refused(lambda: new_project(sector=None))) == ["sector"]


def test_a_project_needs_a_beneficiary(new_project):
    assert list(_refused(lambda: new_project(beneficiary=None))) == ["beneficiary"]


def test_a_closed_program_takes_no_application(new_project, program):
    program.is_active = False
    program.save(update_fields=["is_active"])
    assert list(_refused(lambda: new_project())) == ["program"]


def test_editing_a_draft_with_bad_values_is_refused(make_project, cast):
    project = make_project("draft")
    for changes, field in [
        ({"requested_amount": "100000.01"}, "requested_amount"),
        ({"requested_amount": "1.234"}, "requested_amount"),
        ({"own_contribution": -3}, "own_contribution"),
        ({"title": ""}, "title"),
        ({"state": "approved"}, "state"),
        ({"approved_amount": "1.00"}, "approved_amount"),
    ]:
        errors = _refused(lambda c=changes: services.project_update(project_id=project.pk, actor=cast.agent, **c))
        assert list(errors) == [field], changes


# --- Documents --------------------------------------------------------------------------


def _upload(name="plan.pdf", content=b"%PDF-1.4 plan"):
    return SimpleUploadedFile(name, content, "application/pdf")


def test_a_document_of_an_unknown_type_is_refused(make_project, cast):
    project = make_project("draft")
    errors = _refused(lambda: services.document_attach(
        project_id=project.pk, actor=cast.agent, doc_type="passport", uploaded_file=_upload()))
    assert list(errors) == ["doc_type"]


@pytest.mark.parametrize("uploaded", [None, SimpleUploadedFile("empty.pdf", b"")], ids=["none", "empty"])
def test_a_missing_or_empty_file_is_refused(uploaded, make_project, cast):
    project = make_project("draft")
    errors = _refused(lambda: services.document_attach(
        project_id=project.pk, actor=cast.agent, doc_type="business_plan", uploaded_file=uploaded),
        code="file_empty")
    assert list(errors) == ["file"]


def test_a_file_over_the_size_limit_is_refused(make_project, cast, settings):
    settings.TAMKEEN_MAX_DOCUMENT_BYTES = 1024
    project = make_project("draft")
    errors = _refused(lambda: services.document_attach(
        project_id=project.pk, actor=cast.agent, doc_type="business_plan",
        uploaded_file=_upload(content=b"%PDF-" + b"x" * 1020)), code="file_too_large")
    assert list(errors) == ["file"]


def test_the_same_file_twice_is_refused(make_project, cast):
    project = make_project("draft")
    services.document_attach(project_id=project.pk, actor=cast.agent, doc_type="business_plan",
                             uploaded_file=_upload())
    errors = _refused(lambda: services.document_attach(
        project_id=project.pk, actor=cast.agent, doc_type="photo", uploaded_file=_upload("copy.pdf")))
    assert list(errors) == ["file"]


def test_submitting_with_missing_documents_saves_nothing(make_project, cast):
    project = make_project("draft")
    before = _rows()
    with pytest.raises(TamkeenError) as caught:
        services.project_submit(project_id=project.pk, actor=cast.agent)
    assert caught.value.code == "guard_failed"
    assert caught.value.params["failures"] == ["documents_missing"]
    assert caught.value.field_errors["__all__"]
    assert _rows() == before


# --- Decisions --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "amount", [50000.0, "50000.001", "-1", "0", "", None, "cinquante mille"], ids=lambda a: repr(a)
)
def test_a_bad_approved_amount_is_refused(amount, make_project, cast):
    # The chair gives the amount when confirming the session's decision (the close then
    # applies it): that is where a bad one is refused.
    project = make_project("in_committee")
    item = item_of(project)
    committee.session_record_attendance(session_id=item.session_id, actor=cast.officer,
                                        present_user_ids=[cast.chair.pk])
    committee.session_open(session_id=item.session_id, actor=cast.chair)
    declare_and_vote(item, cast.chair, "approve")
    errors = _refused(lambda: committee.item_confirm_decision(item_id=item.pk, actor=cast.chair, amount=amount))
    assert list(errors) == ["amount"]
    assert fresh_item(item).confirmed_at is None


def test_an_unknown_decision_is_refused(make_project, cast):
    project = make_project("in_committee")
    errors = _refused(lambda: services.project_decide(project_id=project.pk, actor=cast.chair, outcome="maybe"))
    assert list(errors) == ["outcome"]


def test_an_unknown_project_is_not_found(cast):
    with pytest.raises(TamkeenError) as caught:
        services.project_schedule(project_id=987654, actor=cast.officer)
    assert caught.value.code == "not_found"


@pytest.mark.parametrize("project_id", ["abc", None, "12x", 999999])
def test_an_unknown_or_malformed_project_id_is_not_found_not_a_500(project_id, cast, db):
    for call in (
        lambda: services.project_submit(project_id=project_id, actor=cast.agent),
        lambda: services.project_suspend(project_id=project_id, actor=cast.officer, reason="x"),
        lambda: services.project_decide(project_id=project_id, actor=cast.chair, outcome="approve"),
        lambda: services.project_schedule(project_id=project_id, actor=cast.officer),
    ):
        with pytest.raises(TamkeenError) as caught:
            call()
        assert caught.value.code == "not_found"
