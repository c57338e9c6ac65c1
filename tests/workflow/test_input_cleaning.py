"""Input hygiene: bidirectional controls are removed from names, titles and free texts
where the services take them, and a beneficiary's dates must be plausible."""

from datetime import date, timedelta

import pytest

from core.exceptions import InvalidInput
from core.input import clean_text
from ledger.models import AuditEntry
from workflow import services
from workflow.models import ActivitySector, Beneficiary, GrantProject

pytestmark = pytest.mark.django_db

# Right-to-left override, isolates, marks and the Arabic letter mark around real text.
RLO, LRI, PDI, RLM, LRM, ALM, PDF = "\u202e", "\u2066", "\u2069", "\u200f", "\u200e", "\u061c", "\u202c"
CONTROLS = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"


def test_clean_text_removes_every_bidi_control_then_surrounding_whitespace():
    assert clean_text(f" {RLO}Kha{LRI}dija{PDI} ") == "Khadija"
    assert clean_text(f"{CONTROLS}خديجة{RLM}") == "خديجة"
    assert clean_text(None) == ""
    assert not any(c in clean_text(f"a{CONTROLS}b") for c in CONTROLS)


def test_beneficiary_names_are_stored_without_bidi_controls(make_beneficiary):
    person = make_beneficiary(
        first_name=f"{RLO}Fatima{PDF}", last_name=f" Amrani{LRM} ", first_name_ar=f"{ALM}فاطمة",
        last_name_ar=f"العمراني{RLM}{LRI}", address=f"{RLO}12 rue Al Massira ",
    )
    stored = Beneficiary.objects.get(pk=person.pk)
    assert (stored.first_name, stored.last_name, stored.first_name_ar, stored.last_name_ar, stored.address) == (
        "Fatima", "Amrani", "فاطمة", "العمراني", "12 rue Al Massira",
    )


def test_a_name_of_only_bidi_controls_is_refused_as_empty(make_beneficiary):
    with pytest.raises(InvalidInput) as caught:
        make_beneficiary(first_name=f"{RLO}{PDF}")
    assert list(caught.value.field_errors) == ["first_name"]


def test_project_title_and_description_are_stored_without_bidi_controls(make_project, cast):
    project = make_project(title=f"{RLO}Atelier{PDF} de couture", description=f"Deux {LRI}machines{PDI}.")
    stored = GrantProject.objects.get(pk=project.pk)
    assert (stored.title, stored.description) == ("Atelier de couture", "Deux machines.")

    services.project_update(project_id=project.pk, actor=cast.agent, title=f"{RLM}Couture{RLO} Al Amal ")
    assert GrantProject.objects.get(pk=project.pk).title == "Couture Al Amal"


def test_application_create_cleans_both_parts(program, make_beneficiary, cast):
    project = services.application_create(
        actor=cast.agent, program=program, beneficiary=make_beneficiary(last_name=f"{RLO}Ouali"),
        project_fields={
            "title": f"Couture{RLO}", "description": f"{ALM}Machines", "requested_amount": "50000.00",
            "own_contribution": "25000.00", "sector": ActivitySector.objects.get(code="sewing"),
        },
    )
    stored = GrantProject.objects.select_related("beneficiary").get(pk=project.pk)
    assert (stored.title, stored.description, stored.beneficiary.last_name) == ("Couture", "Machines", "Ouali")


def test_a_suspension_reason_is_recorded_without_bidi_controls(make_project, cast):
    project = make_project("submitted")
    services.project_suspend(project_id=project.pk, actor=cast.officer, reason=f" {RLO}Dossier{PDF} incomplet ")
    entry = AuditEntry.objects.for_entity(project).order_by("seq").last()
    assert (entry.transition, entry.payload["reason"]) == ("suspend", "Dossier incomplet")


def test_a_reason_of_only_bidi_controls_is_refused_as_empty(make_project, cast):
    project = make_project("submitted")
    with pytest.raises(InvalidInput) as caught:
        services.project_withdraw(project_id=project.pk, actor=cast.agent, reason=f"{RLO}{LRI} {PDI}")
    assert list(caught.value.field_errors) == ["reason"]
    assert GrantProject.objects.get(pk=project.pk).state == "submitted"


# --- dates ------------------------------------------------------------------------------


def _refused_fields(call):
    count = Beneficiary.objects.count()
    with pytest.raises(InvalidInput) as caught:
        call()
    assert Beneficiary.objects.count() == count
    assert all(m.strip() for messages in caught.value.field_errors.values() for m in messages)
    return sorted(caught.value.field_errors)


@pytest.mark.parametrize("birth_date", [date(1800, 1, 1), date(1899, 12, 31), date.today() + timedelta(days=1)])
def test_an_implausible_birth_date_is_refused(make_beneficiary, birth_date):
    assert _refused_fields(lambda: make_beneficiary(birth_date=birth_date)) == ["birth_date"]


@pytest.mark.parametrize("consent_date", [date(2999, 1, 1), date.today() + timedelta(days=1), date(1990, 4, 30)])
def test_a_consent_date_in_the_future_or_before_birth_is_refused(make_beneficiary, consent_date):
    call = lambda: make_beneficiary(birth_date=date(1990, 5, 1), consent_date=consent_date)  # noqa: E731
    assert _refused_fields(call) == ["consent_date"]


def test_a_consent_date_between_birth_and_today_is_accepted(make_beneficiary):
    for consent_date in (date(1990, 5, 1), date.today()):
        assert make_beneficiary(birth_date=date(1990, 5, 1), consent_date=consent_date).pk


def _fields(**overrides):
    from workflow.models import Commune

    values = {
        "first_name": "Khadija", "last_name": "Bouazza", "first_name_ar": "خديجة", "last_name_ar": "بوعزة",
        "cin": "S654321", "phone": "0661223344", "gender": "F", "birth_date": date(1988, 3, 14),
        "commune": Commune.objects.get(code="nador"), "is_woman_in_difficulty": True,
        "consent_given": True, "consent_date": date(2025, 2, 1),
    }
    values.update(overrides)
    return values


PROJECT = {"title": "Couture", "description": "Machines", "requested_amount": "50000.00",
           "own_contribution": "25000.00"}


def _apply(program, cast, **kwargs):
    return services.application_create(
        actor=cast.agent, program=program,
        project_fields={**PROJECT, "sector": ActivitySector.objects.get(code="sewing")}, **kwargs,
    )


def test_a_new_beneficiary_outside_the_program_age_range_is_refused_on_the_birth_date(program, cast):
    today = date.today()
    too_old = date(today.year - program.max_age - 1, 1, 1)
    too_young = today - timedelta(days=1)
    for birth_date in (too_old, too_young):
        count = GrantProject.objects.count()
        with pytest.raises(InvalidInput) as caught:
            _apply(program, cast, beneficiary_fields=_fields(birth_date=birth_date, consent_date=today))
        assert list(caught.value.field_errors) == ["birth_date"]
        assert (GrantProject.objects.count(), Beneficiary.objects.filter(cin="S654321").count()) == (count, 0)


def test_an_existing_beneficiary_outside_the_age_range_is_refused_on_the_beneficiary(
    program, cast, make_beneficiary,
):
    program.min_age = 40
    program.save()
    person = make_beneficiary(birth_date=date(date.today().year - 30, 1, 1))
    with pytest.raises(InvalidInput) as caught:
        _apply(program, cast, beneficiary=person)
    assert list(caught.value.field_errors) == ["beneficiary"]


def test_the_age_range_bounds_are_inclusive_at_application(program, cast):
    today = date.today()
    exactly_min = today.replace(year=today.year - program.min_age) if (today.month, today.day) != (2, 29) else None
    if exactly_min is None:
        pytest.skip("29 February")
    project = _apply(program, cast, beneficiary_fields=_fields(birth_date=exactly_min, consent_date=today))
    assert project.beneficiary.age_on(today) == program.min_age
