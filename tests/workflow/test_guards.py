"""The conditions of each transition (DESIGN.md §3 "Guards", §7 "Money").

A transition whose state allows it but whose conditions fail raises ``guard_failed``
(or ``budget_exceeded``) listing every unmet condition, or ``invalid_input`` naming the
field for a missing reason or a bad amount, and changes nothing.
"""

import json
from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from approvals import services as committee
from core.exceptions import TamkeenError
from demo.scenarios import attach_required_documents, decide_in_session
from disbursements.selectors import committed_amount, free_balance
from disbursements.services import envelope_decommit
from followup import services as followup_services
from ledger.models import AuditEntry
from tests._committee_support import item_of
from tests._uploads import pdf_bytes
from workflow import services
from workflow.models import Commune, DocumentType, GrantProject, Program

REASON = "Motif consigné au dossier."


def _snapshot(pk):
    project = GrantProject.objects.get(pk=pk)
    return (
        GrantProject.objects.filter(pk=pk).values().get(),
        list(AuditEntry.objects.for_entity(project).values_list("seq", "transition")),
    )


def _attach(project, actor, *doc_types):
    for doc_type in doc_types:
        services.document_attach(
            project_id=project.pk, actor=actor, doc_type=doc_type,
            uploaded_file=SimpleUploadedFile(f"{doc_type}.pdf", pdf_bytes(f"{doc_type} {project.pk}")),
        )


def _refused(call, pk):
    """Run ``call``, expect a coded error, check nothing changed, return the error."""
    before = _snapshot(pk)
    with pytest.raises(TamkeenError) as caught:
        call()
    assert _snapshot(pk) == before
    return caught.value


# --- submit -----------------------------------------------------------------------------


def test_submit_without_documents_is_refused(make_project, cast):
    project = make_project("draft")
    error = _refused(lambda: services.project_submit(project_id=project.pk, actor=cast.agent), project.pk)
    assert error.code == "guard_failed"
    assert error.params["failures"] == ["documents_missing"]
    assert error.field_errors["__all__"]


def test_submit_names_every_missing_document(make_project, cast):
    project = make_project("draft")
    _attach(project, cast.agent, DocumentType.CIN_COPY)
    error = _refused(lambda: services.project_submit(project_id=project.pk, actor=cast.agent), project.pk)
    told = json.dumps(error.as_dict(), ensure_ascii=False)
    for missing in (DocumentType.RESIDENCE_CERTIFICATE, DocumentType.BUSINESS_PLAN):
        assert missing.value in told or str(missing.label) in told, missing
    assert str(DocumentType.CIN_COPY.label) not in told


def test_submit_without_consent_is_refused(make_project, make_beneficiary, cast):
    person = make_beneficiary(consent_given=False, consent_date=None)
    project = make_project("draft", beneficiary=person)
    attach_required_documents(project, cast.agent)
    error = _refused(lambda: services.project_submit(project_id=project.pk, actor=cast.agent), project.pk)
    assert (error.code, error.params["failures"]) == ("guard_failed", ["consent_missing"])


def test_submit_reports_every_unmet_condition_at_once(make_project, make_beneficiary, program, cast):
    project = make_project("draft", beneficiary=make_beneficiary(consent_given=False, consent_date=None))
    program.project_ceiling = Decimal("50000.00")  # lowered after the file was opened
    program.save(update_fields=["project_ceiling"])
    error = _refused(lambda: services.project_submit(project_id=project.pk, actor=cast.agent), project.pk)
    assert error.code == "guard_failed"
    assert sorted(error.params["failures"]) == ["amount_over_ceiling", "consent_missing", "documents_missing"]
    assert len(error.field_errors["__all__"]) == 3


def test_submit_over_the_ceiling_is_refused(make_project, program, cast):
    project = make_project("draft")  # requests 60,000.00
    attach_required_documents(project, cast.agent)
    program.project_ceiling = Decimal("59999.99")
    program.save(update_fields=["project_ceiling"])
    error = _refused(lambda: services.project_submit(project_id=project.pk, actor=cast.agent), project.pk)
    assert (error.code, error.params["failures"]) == ("guard_failed", ["amount_over_ceiling"])

    program.project_ceiling = Decimal("60000.00")  # exactly the ceiling is allowed
    program.save(update_fields=["project_ceiling"])
    services.project_submit(project_id=project.pk, actor=cast.agent)
    assert GrantProject.objects.get(pk=project.pk).state == "submitted"


def test_resubmit_checks_the_same_conditions(make_project, program, cast):
    project = make_project("revision_requested")
    program.project_ceiling = Decimal("50000.00")
    program.save(update_fields=["project_ceiling"])
    error = _refused(lambda: services.project_resubmit(project_id=project.pk, actor=cast.agent), project.pk)
    assert (error.code, error.params["failures"]) == ("guard_failed", ["amount_over_ceiling"])

    services.project_update(project_id=project.pk, actor=cast.agent, requested_amount="50000.00")
    services.project_resubmit(project_id=project.pk, actor=cast.agent)
    assert GrantProject.objects.get(pk=project.pk).state == "submitted"


@pytest.mark.parametrize(
    ("proof_documents", "accepted"),
    [
        ((DocumentType.DISABILITY_CARD,), True),
        ((DocumentType.MEDICAL_CERTIFICATE,), True),
        ((DocumentType.DISABILITY_CARD, DocumentType.MEDICAL_CERTIFICATE), True),
        ((), False),
        ((DocumentType.SOCIAL_SITUATION,), False),
    ],
    ids=["card", "medical-certificate", "both", "none", "unrelated-document"],
)
def test_a_disability_is_proven_by_the_card_or_a_medical_certificate(
    proof_documents, accepted, make_project, make_beneficiary, program, cast
):
    person = make_beneficiary(
        gender="M", is_woman_in_difficulty=False, has_disability=True, disability_proof="card"
    )
    project = make_project("draft", beneficiary=person)
    _attach(project, cast.agent, *program.required_documents, *proof_documents)
    submit = lambda: services.project_submit(project_id=project.pk, actor=cast.agent)  # noqa: E731
    if accepted:
        submit()
        assert GrantProject.objects.get(pk=project.pk).state == "submitted"
    else:
        error = _refused(submit, project.pk)
        assert (error.code, error.params["failures"]) == ("guard_failed", ["documents_missing"])


# --- screen -----------------------------------------------------------------------------


def test_screening_records_every_failed_rule_at_once(make_project, make_beneficiary, cast):
    oujda = Commune.objects.create(
        code="oujda", name_fr="Oujda", name_ar="وجدة", province="Oujda", kind="urban"
    )
    today = date.today()
    person = make_beneficiary(
        commune=oujda,
        birth_date=date(today.year - 70, 1, 1),  # over the default 60
        last_support_date=date(today.year - 1, 1, 1),  # within the 2-year cooldown
    )
    project = make_project("submitted", beneficiary=person, own_contribution="1000.00")

    services.project_screen(
        project_id=project.pk, actor=cast.officer, failures=["Le local n'existe pas."]
    )

    project = GrantProject.objects.get(pk=project.pk)
    assert project.state == "ineligible"
    codes = [f["code"] for f in project.eligibility_failures]
    assert codes == ["commune", "age", "recent_support", "contribution", "officer"]
    assert all(f["message"] for f in project.eligibility_failures)
    entry = AuditEntry.objects.for_entity(project).order_by("seq").last()
    assert entry.transition == "screen_fail"
    assert [f["code"] for f in entry.payload["failed_rules"]] == codes


def test_screening_a_file_that_passes_every_rule_makes_it_eligible(make_project, cast):
    project = make_project("submitted")
    services.project_screen(project_id=project.pk, actor=cast.officer)
    project = GrantProject.objects.get(pk=project.pk)
    assert (project.state, project.eligibility_failures) == ("eligible", [])
    assert AuditEntry.objects.for_entity(project).order_by("seq").last().payload["failed_rules"] == []


def test_an_empty_officer_failure_is_refused(make_project, cast):
    project = make_project("submitted")
    error = _refused(
        lambda: services.project_screen(project_id=project.pk, actor=cast.officer, failures=["  "]),
        project.pk,
    )
    assert error.code == "invalid_input"
    assert "failures" in error.field_errors


# --- decide_approve and money -----------------------------------------------------------


@pytest.fixture
def small_program(db):
    return Program.objects.create(
        code="small", name="Petit programme", year=2025,
        envelope=Decimal("100000.00"), project_ceiling=Decimal("60000.00"),
    )


def _approve(project, cast, amount):
    """The committee approves ``amount``: the chair confirms it (amount checks) and closes
    the session (envelope and beneficiary checks, under the program lock)."""
    return lambda: decide_in_session(project.pk, cast, "approve", amount)


@pytest.mark.parametrize("amount", ["60000.01", "70000.00"])
def test_approving_more_than_requested_is_refused(amount, make_project, cast):
    project = make_project("in_committee")  # requests 60,000.00
    error = _refused(_approve(project, cast, amount), project.pk)
    assert error.code == "invalid_input"
    assert list(error.field_errors) == ["amount"]


@pytest.mark.parametrize("amount", ["0", "0.00", "-1.00"])
def test_approving_nothing_or_a_negative_amount_is_refused(amount, make_project, cast):
    project = make_project("in_committee")
    error = _refused(_approve(project, cast, amount), project.pk)
    assert (error.code, list(error.field_errors)) == ("invalid_input", ["amount"])


def test_approving_above_a_lowered_ceiling_is_refused(make_project, program, cast):
    project = make_project("in_committee")  # requests 60,000.00
    program.project_ceiling = Decimal("50000.00")
    program.save(update_fields=["project_ceiling"])

    error = _refused(_approve(project, cast, "55000.00"), project.pk)
    assert (error.code, list(error.field_errors)) == ("invalid_input", ["amount"])
    assert "50,000.00" in error.field_errors["amount"][0]  # the ceiling, as an amount

    _approve(project, cast, "50000.00")()
    assert GrantProject.objects.get(pk=project.pk).approved_amount == Decimal("50000.00")


def test_approving_beyond_the_envelope_free_balance_is_refused(make_project, small_program, cast):
    first = make_project("in_committee", program=small_program)
    second = make_project("in_committee", program=small_program, requested_amount="50000.00",
                          own_contribution="25000.00")
    _approve(first, cast, "60000.00")()
    assert free_balance(small_program) == Decimal("40000.00")

    error = _refused(_approve(second, cast, "40000.01"), second.pk)
    assert error.code == "budget_exceeded"
    assert error.params["failures"] == ["envelope_exceeded"]
    assert committed_amount(small_program) == Decimal("60000.00")

    _approve(second, cast, "40000.00")()  # exactly the free balance fits
    assert committed_amount(small_program) == small_program.envelope
    assert free_balance(small_program) == Decimal("0.00")


def test_a_withdrawn_approval_gives_its_money_back_to_the_envelope(make_project, small_program, cast):
    first = make_project("approved", program=small_program)  # 60,000.00 committed
    second = make_project("in_committee", program=small_program, requested_amount="50000.00",
                          own_contribution="25000.00")
    assert _refused(_approve(second, cast, "50000.00"), second.pk).code == "budget_exceeded"

    services.project_withdraw(project_id=first.pk, actor=cast.agent, reason=REASON)
    # Still committed until the finance officer gives the commitment back (decommitment).
    assert _refused(_approve(second, cast, "50000.00"), second.pk).code == "budget_exceeded"
    envelope_decommit(project_id=first.pk, actor=cast.finance, reason=REASON)
    _approve(second, cast, "50000.00")()

    assert committed_amount(small_program) == Decimal("50000.00")


def test_the_envelope_is_never_over_committed(make_project, small_program, cast):
    projects = [
        make_project("in_committee", program=small_program, requested_amount="30000.00",
                     own_contribution="15000.00")
        for _ in range(4)
    ]
    outcomes = []
    for project in projects:
        try:
            _approve(project, cast, "30000.00")()
            outcomes.append("approved")
        except TamkeenError as error:
            outcomes.append(error.code)
        assert committed_amount(small_program) <= small_program.envelope
    assert outcomes == ["approved", "approved", "approved", "budget_exceeded"]


def test_a_beneficiary_is_not_funded_twice_by_two_files_screened_side_by_side(
    make_project, make_beneficiary, program, cast
):
    person = make_beneficiary()
    first = make_project("in_committee", beneficiary=person)
    second = make_project("in_committee", beneficiary=person)
    _approve(first, cast, "60000.00")()

    error = _refused(_approve(second, cast, "60000.00"), second.pk)

    assert error.code in {"guard_failed", "invalid_input", "transition_not_allowed"}
    assert committed_amount(program) == Decimal("60000.00")


def test_the_envelope_cannot_be_lowered_below_what_is_committed(make_project, small_program, cast):
    make_project("approved", program=small_program)  # 60,000.00 committed
    small_program.envelope = Decimal("59999.99")
    small_program.project_ceiling = Decimal("50000.00")
    with pytest.raises(ValidationError) as caught:
        small_program.full_clean()
    assert "envelope" in caught.value.message_dict


# --- close ------------------------------------------------------------------------------


@pytest.mark.parametrize("reason", ["", "   ", None])
def test_closing_as_abandoned_needs_a_reason(reason, make_project, cast):
    project = make_project("launched")
    error = _refused(
        lambda: followup_services.project_close(
            project_id=project.pk, actor=cast.officer, outcome="abandoned", reason=reason
        ),
        project.pk,
    )
    assert (error.code, list(error.field_errors)) == ("invalid_input", ["reason"])


def test_closing_as_abandoned_with_a_reason_records_it(make_project, cast):
    project = make_project("launched")
    followup_services.project_close(
        project_id=project.pk, actor=cast.officer, outcome="abandoned", reason="  Activité arrêtée.  "
    )
    project = GrantProject.objects.get(pk=project.pk)
    assert (project.state, project.outcome, project.closure_reason) == (
        "closed", "abandoned", "Activité arrêtée.",
    )
    assert AuditEntry.objects.for_entity(project).order_by("seq").last().payload == {
        "outcome": "abandoned", "reason": "Activité arrêtée.",
    }


def test_closing_with_an_unknown_outcome_is_refused(make_project, cast):
    project = make_project("launched")
    error = _refused(
        lambda: followup_services.project_close(project_id=project.pk, actor=cast.officer, outcome="great"),
        project.pk,
    )
    assert (error.code, list(error.field_errors)) == ("invalid_input", ["outcome"])


# --- reasons ----------------------------------------------------------------------------

REASONED = {
    "return_docs": ("submitted", lambda pid, c, r: services.project_return_docs(
        project_id=pid, actor=c.officer, reason=r)),
    "defer": ("in_committee", lambda pid, c, r: committee.session_remove_item(
        session_id=item_of(pid).session_id, item_id=item_of(pid).pk, actor=c.officer, reason=r)),
    "withdraw": ("eligible", lambda pid, c, r: services.project_withdraw(
        project_id=pid, actor=c.agent, reason=r)),
    "suspend": ("approved", lambda pid, c, r: services.project_suspend(
        project_id=pid, actor=c.officer, reason=r)),
    # The chair gives the reason when confirming the session's decision.
    "decide_revise": ("in_committee", lambda pid, c, r: decide_in_session(pid, c, "revise", r or "")),
    "decide_reject": ("in_committee", lambda pid, c, r: decide_in_session(pid, c, "reject", r or "")),
}


@pytest.mark.parametrize("transition", list(REASONED))
def test_a_transition_that_needs_a_reason_refuses_a_blank_one(transition, make_project, cast):
    state, call = REASONED[transition]
    project = make_project(state)
    for blank in ("", "  \n ", None):
        error = _refused(lambda b=blank: call(project.pk, cast, b), project.pk)
        assert (error.code, list(error.field_errors)) == ("invalid_input", ["reason"]), repr(blank)

    call(project.pk, cast, "  Le bénéficiaire a déménagé.  ")
    entry = AuditEntry.objects.for_entity(project).order_by("seq").last()
    assert (entry.transition, entry.payload["reason"]) == (transition, "Le bénéficiaire a déménagé.")


def test_an_overlong_reason_is_refused(make_project, cast):
    project = make_project("approved")
    error = _refused(
        lambda: services.project_suspend(project_id=project.pk, actor=cast.officer, reason="x" * 2001),
        project.pk,
    )
    assert (error.code, list(error.field_errors)) == ("invalid_input", ["reason"])
