"""A program's training plan screen (training.views_plan): the plan's modules and the
form calling ``program_module_set``, for program officers and administrators; and the
plan shown on the program's page."""

from decimal import Decimal

import pytest
from django.urls import reverse

from core.roles import Role
from tests._web import as_user, html_of
from training.models import ProgramModule, TrainingModule

pytestmark = pytest.mark.django_db


def plan(program):
    return list(ProgramModule.objects.filter(program=program).order_by("module__code")
                .values_list("module__code", "planned_hours", "mandatory"))


def module(code):
    return TrainingModule.objects.get(code=code)


def test_officers_and_administrators_get_the_plan_form_others_a_403(client, cast, program, make_user):
    for user in (cast.officer, make_user(Role.ADMIN)):
        as_user(client, user)
        page = html_of(client.get(reverse("training:plan", args=[program.pk])))
        assert "No module in the plan yet: nothing is mandatory." in page
    for role in (Role.TRAINER, Role.AUDITOR, Role.MENTOR):
        as_user(client, make_user(role))
        assert client.get(reverse("training:plan", args=[program.pk])).status_code == 403
        response = client.post(reverse("training:plan", args=[program.pk]),
                               {"module": module("marketing").pk, "planned_hours": "10", "mandatory": "on"})
        assert response.status_code == 403
    assert plan(program) == []


def test_an_unknown_program_is_a_404(client, cast):
    as_user(client, cast.officer)
    assert client.get(reverse("training:plan", args=[999999])).status_code == 404


def test_setting_a_module_puts_it_in_the_plan(client, cast, program):
    as_user(client, cast.officer)
    response = client.post(reverse("training:plan", args=[program.pk]),
                           {"module": module("project-management").pk, "planned_hours": "20", "mandatory": "on"})
    assert response.status_code == 302 and response["Location"] == reverse("training:plan", args=[program.pk])
    assert plan(program) == [("project-management", Decimal("20.00"), True)]
    page = html_of(client.get(response["Location"]))
    assert "Training plan saved." in page
    assert page.count('class="tamkeen-plan-module"') == 1


def test_changing_a_module_starts_from_what_the_plan_holds(client, cast, program):
    as_user(client, cast.officer)
    client.post(reverse("training:plan", args=[program.pk]),
                {"module": module("marketing").pk, "planned_hours": "10", "mandatory": "on"})
    form = client.get(reverse("training:plan", args=[program.pk]) + "?module=marketing").context["form"]
    assert (form.initial["module"], form.initial["planned_hours"], form.initial["mandatory"]) == (
        module("marketing"), Decimal("10.00"), True)

    client.post(reverse("training:plan", args=[program.pk]),
                {"module": module("marketing").pk, "planned_hours": "12,5"})
    assert plan(program) == [("marketing", Decimal("12.50"), False)]


def test_wrong_hours_are_refused_on_the_field_and_nothing_is_saved(client, cast, program):
    as_user(client, cast.officer)
    for hours in ("0", "abc", "1000", ""):
        response = client.post(reverse("training:plan", args=[program.pk]),
                               {"module": module("marketing").pk, "planned_hours": hours, "mandatory": "on"})
        html_of(response)
        assert list(response.context["form"].errors) == ["planned_hours"], hours
    assert plan(program) == []


def test_a_module_no_longer_offered_is_refused_on_the_module_field(client, cast, program):
    retired = TrainingModule.objects.create(code="retired", name_fr="Ancien", name_ar="قديم", name_en="Old",
                                            active=False)
    as_user(client, cast.officer)
    response = client.post(reverse("training:plan", args=[program.pk]),
                           {"module": retired.pk, "planned_hours": "4", "mandatory": "on"})
    html_of(response)
    assert list(response.context["form"].errors) == ["module"]
    assert plan(program) == []


def test_the_program_page_shows_the_plan_and_links_to_it_for_the_officer(client, cast, program, make_user):
    as_user(client, cast.officer)
    client.post(reverse("training:plan", args=[program.pk]),
                {"module": module("productivity").pk, "planned_hours": "8", "mandatory": "on"})
    page = html_of(client.get(reverse("programs:detail", args=[program.pk])))
    assert 'id="training"' in page and 'data-module="productivity"' in page
    assert reverse("training:plan", args=[program.pk]) in page
    # The plan page's way back is the program's page.
    assert reverse("programs:detail", args=[program.pk]) in html_of(
        client.get(reverse("training:plan", args=[program.pk])))

    as_user(client, make_user(Role.TRAINER))
    page = html_of(client.get(reverse("programs:detail", args=[program.pk])))
    assert 'data-module="productivity"' in page
    assert reverse("training:plan", args=[program.pk]) not in page
