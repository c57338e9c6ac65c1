"""Unit tests of ``evaluate_eligibility``, one rule at a time (docs/lifecycle.md
"Eligibility"). The file under test starts out passing every rule; each test spoils one
thing in memory and checks that exactly that rule fails."""

from datetime import date, datetime
from decimal import Decimal

import pytest
from dateutil.relativedelta import relativedelta
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from demo.scenarios import attach_required_documents
from tests._uploads import pdf_bytes
from workflow import services
from workflow.eligibility import evaluate_eligibility
from workflow.models import Commune, DocumentType, GrantProject, Program

ON = date(2025, 6, 15)
ORDER = ["category", "commune", "age", "recent_support", "documents", "consent", "ceiling", "contribution"]


def codes(project, on=ON):
    return [failure.code for failure in evaluate_eligibility(project, on=on)]


@pytest.fixture
def draft_file(make_project, cast):
    """A draft file with every document it needs."""

    def make(**fields):
        project = make_project("draft", **fields)
        attach_required_documents(project, cast.agent)
        return GrantProject.objects.select_related("program", "beneficiary__commune").get(pk=project.pk)

    return make


@pytest.fixture
def eligible(draft_file):
    """A draft file that passes every rule on ``ON``."""

    def make(**fields):
        project = draft_file(**fields)
        assert codes(project) == []
        return project

    return make


def test_every_failure_has_a_message(eligible):
    project = eligible()
    project.beneficiary.consent_given = False
    (failure,) = evaluate_eligibility(project, on=ON)
    assert (failure.code, bool(failure.message)) == ("consent", True)
    assert failure.as_dict() == {"code": "consent", "message": failure.message,
                                 "msgid": "The beneficiary's consent is not recorded.", "params": {}}


def test_a_stored_failure_reads_in_the_readers_language(eligible):
    from django.utils import translation

    from workflow.eligibility import failure_text

    project = eligible()
    project.beneficiary.consent_given = False
    with translation.override("fr"):  # screened by a French-speaking officer
        (failure,) = [f.as_dict() for f in evaluate_eligibility(project, on=ON)]
    shown = {}
    for language in ("ar", "fr", "en"):
        with translation.override(language):
            shown[language] = failure_text(failure)
    assert shown["en"] == "The beneficiary's consent is not recorded."
    assert len(set(shown.values())) == 3 and shown["fr"] == failure["message"]
    assert any("\u0600" <= ch <= "\u06ff" for ch in shown["ar"])
    # Written before the msgids: as written.
    with translation.override("ar"):
        assert failure_text({"code": "consent", "message": "Consentement absent."}) == "Consentement absent."


# --- category ---------------------------------------------------------------------------


def test_no_category_fails(eligible):
    project = eligible()
    project.beneficiary.is_woman_in_difficulty = False
    assert codes(project) == ["category"]


def test_a_man_is_not_a_woman_in_difficulty(eligible):
    project = eligible()
    project.beneficiary.gender = "M"
    assert codes(project) == ["category"]


def test_a_man_with_a_disability_qualifies(eligible, make_beneficiary, cast):
    person = make_beneficiary(gender="M", is_woman_in_difficulty=False, has_disability=True,
                              disability_proof="medical_certificate")
    project = eligible(beneficiary=person)  # the fixture attaches a disability card
    assert codes(project) == []


# --- commune ----------------------------------------------------------------------------


def test_a_commune_of_another_province_fails(eligible):
    project = eligible()
    project.beneficiary.commune = Commune.objects.create(
        code="oujda", name_fr="Oujda", name_ar="وجدة", province="Oujda", kind="urban"
    )
    assert codes(project) == ["commune"]


def test_an_inactive_commune_fails(eligible):
    project = eligible()
    project.beneficiary.commune.active = False
    assert codes(project) == ["commune"]


def test_the_province_is_the_program_one(eligible):
    project = eligible()
    project.program.province = "Driouch"
    assert codes(project) == ["commune"]


# --- age --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("birth_date", "ok"),
    [
        (ON - relativedelta(years=18), True),  # 18 today
        (ON - relativedelta(years=18) + relativedelta(days=1), False),  # 18 tomorrow
        (ON - relativedelta(years=61) + relativedelta(days=1), True),  # 60, 61 tomorrow
        (ON - relativedelta(years=61), False),  # 61 today
    ],
    ids=["18-today", "17", "60", "61-today"],
)
def test_age_must_be_within_the_program_range_inclusive(birth_date, ok, eligible):
    project = eligible()
    project.beneficiary.birth_date = birth_date
    assert codes(project) == ([] if ok else ["age"])


def test_the_age_range_is_the_program_one(eligible):
    project = eligible()  # born 1990-05-01: 35 on ON
    project.program.max_age = 34
    assert codes(project) == ["age"]
    project.program.max_age, project.program.min_age = 60, 36
    assert codes(project) == ["age"]


def test_age_is_taken_on_the_submission_date_by_default(eligible):
    project = eligible()
    project.beneficiary.birth_date = date(1964, 1, 1)  # 60 until 2024-12-31, then 61
    project.submitted_at = timezone.make_aware(datetime(2024, 12, 30, 10, 0))
    assert [f.code for f in evaluate_eligibility(project)] == []
    project.submitted_at = timezone.make_aware(datetime(2025, 1, 2, 10, 0))
    assert [f.code for f in evaluate_eligibility(project)] == ["age"]


# --- recent support ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("last_support", "ok"),
    [
        (None, True),
        (ON - relativedelta(years=2), True),  # exactly two years ago
        (ON - relativedelta(years=2) + relativedelta(days=1), False),
        (ON - relativedelta(months=3), False),
        (ON - relativedelta(years=5), True),
    ],
    ids=["never", "two-years-ago", "two-years-minus-a-day", "three-months", "five-years"],
)
def test_support_within_the_cooldown_fails(last_support, ok, eligible):
    project = eligible()
    project.beneficiary.last_support_date = last_support
    assert codes(project) == ([] if ok else ["recent_support"])


def test_the_cooldown_is_the_program_one(eligible):
    project = eligible()
    project.beneficiary.last_support_date = ON - relativedelta(years=3)
    project.program.support_cooldown_years = 4
    assert codes(project) == ["recent_support"]


@pytest.fixture
def program_2(db):
    return Program.objects.create(
        code="second-call", name="Deuxième appel", year=2025,
        envelope=Decimal("500000.00"), project_ceiling=Decimal("100000.00"),
    )


@pytest.mark.parametrize("other_state", ["approved", "launched", "closed"])
def test_a_project_funded_in_another_program_counts_as_recent_support(
    other_state, draft_file, make_project, make_beneficiary, program_2
):
    person = make_beneficiary()
    make_project(other_state, beneficiary=person, program=program_2)
    assert codes(draft_file(beneficiary=person), on=date.today()) == ["recent_support"]


@pytest.mark.parametrize("other_state", ["draft", "submitted", "rejected", "ineligible", "withdrawn"])
def test_an_unfunded_project_does_not_count_as_support(other_state, eligible, make_project,
                                                       make_beneficiary, program_2):
    person = make_beneficiary()
    make_project(other_state, beneficiary=person, program=program_2)
    assert codes(eligible(beneficiary=person), on=date.today()) == []


def test_a_suspended_approval_still_counts_as_recent_support(draft_file, make_project, make_beneficiary,
                                                              program_2, cast):
    person = make_beneficiary()
    funded = make_project("approved", beneficiary=person, program=program_2)
    services.project_suspend(project_id=funded.pk, actor=cast.officer, reason="Contrôle sur place.")
    assert codes(draft_file(beneficiary=person), on=date.today()) == ["recent_support"]


def test_the_cooldown_runs_from_the_approval_not_from_the_files_creation(draft_file, make_project,
                                                                        make_beneficiary, program_2):
    person = make_beneficiary()
    funded = make_project("approved", beneficiary=person, program=program_2)  # approved today
    # Filed three years ago, approved only now: the support is recent.
    GrantProject.objects.filter(pk=funded.pk).update(created_at=timezone.now() - relativedelta(years=3))
    candidate = draft_file(beneficiary=person)
    assert codes(candidate, on=date.today()) == ["recent_support"]
    # Two years and a day after the approval, the same person may be supported again.
    assert codes(candidate, on=date.today() + relativedelta(years=2, days=1)) == []


# --- documents, consent, ceiling, contribution ------------------------------------------


def test_a_missing_document_fails_and_is_named(make_project, cast):
    project = make_project("draft")
    services.document_attach(
        project_id=project.pk, actor=cast.agent, doc_type="cin_copy",
        uploaded_file=SimpleUploadedFile("cin.pdf", pdf_bytes("cin")),
    )
    (failure,) = evaluate_eligibility(project, on=ON)
    assert failure.code == "documents"
    assert str(DocumentType.RESIDENCE_CERTIFICATE.label) in failure.message
    assert str(DocumentType.BUSINESS_PLAN.label) in failure.message
    assert str(DocumentType.CIN_COPY.label) not in failure.message


def test_a_disability_without_a_proof_document_fails(eligible, make_beneficiary):
    project = eligible()
    project.beneficiary.has_disability = True
    project.beneficiary.disability_proof = "card"
    assert codes(project) == ["documents"]


def test_no_consent_fails(eligible):
    project = eligible()
    project.beneficiary.consent_given = False
    assert codes(project) == ["consent"]


def test_a_request_over_the_ceiling_fails(eligible):
    project = eligible()  # 60,000.00 requested
    project.program.project_ceiling = Decimal("59999.99")
    assert codes(project) == ["ceiling"]
    project.program.project_ceiling = Decimal("60000.00")
    assert codes(project) == []


@pytest.mark.parametrize(
    ("own", "ok"), [("30000.00", True), ("29999.99", False), ("0.00", False), ("90000.00", True)]
)
def test_the_beneficiary_brings_the_program_share_of_the_cost(own, ok, eligible):
    project = eligible()
    project.requested_amount, project.own_contribution = Decimal("70000.00"), Decimal(own)
    # 30 % of 100,000.00 is 30,000.00 (for own = 30,000.00).
    assert codes(project) == ([] if ok else ["contribution"])


def test_a_zero_share_needs_no_contribution(eligible):
    project = eligible()
    project.program.contribution_share = Decimal("0.000")
    project.own_contribution = Decimal("0.00")
    assert codes(project) == []


def test_every_failed_rule_is_returned_in_a_fixed_order(eligible):
    project = eligible()
    person, program = project.beneficiary, project.program
    person.is_woman_in_difficulty = False
    person.commune.active = False
    person.birth_date = ON - relativedelta(years=70)
    person.last_support_date = ON - relativedelta(months=1)
    person.consent_given = False
    program.required_documents = [*program.required_documents, "photo"]
    program.project_ceiling = Decimal("10000.00")
    project.own_contribution = Decimal("0.00")
    assert codes(project) == ORDER
