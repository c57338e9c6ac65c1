"""A program's time limits change on its page, each change signed on the program's
chain (``program_deadline_set``), never silently in the admin."""

import pytest
from django.urls import reverse

from ledger.models import AuditEntry
from ledger.selectors import entity_verification
from notifications.models import StepDeadline
from workflow.models import Program

pytestmark = pytest.mark.django_db


def entries(program):
    return list(AuditEntry.objects.for_entity(program).order_by("seq"))


def test_an_officer_sets_a_steps_limits_and_the_change_is_signed_on_the_programs_chain(client, cast, program):
    client.force_login(cast.officer)
    url = reverse("notifications:deadlines", args=[program.pk])
    assert client.get(url).status_code == 200

    response = client.post(url, {"step": "screening", "remind_after_days": "2", "escalate_after_days": "4"})

    assert response.status_code == 302
    row = StepDeadline.objects.get(program=program, step="screening")
    assert (row.remind_after_days, row.escalate_after_days) == (2, 4)
    last = entries(program)[-1]
    assert last.transition == "configure" and last.actor_id == cast.officer.pk
    assert last.payload == {"section": "deadlines", "changes": {"screening": {"before": [5, 10], "after": [2, 4]}}}
    assert entity_verification(Program.objects.get(pk=program.pk)).ok

    # The same limits again: nothing to sign.
    client.post(url, {"step": "screening", "remind_after_days": "2", "escalate_after_days": "4"})
    assert entries(program)[-1].pk == last.pk


@pytest.mark.parametrize(("remind", "escalate", "field"), [
    ("5", "5", "escalate_after_days"), ("deux", "4", "remind_after_days"), ("1", "9999", "escalate_after_days"),
])
def test_bad_limits_are_shown_on_their_field_and_change_nothing(client, cast, program, remind, escalate, field):
    client.force_login(cast.officer)
    before = entries(program)
    response = client.post(reverse("notifications:deadlines", args=[program.pk]),
                           {"step": "screening", "remind_after_days": remind, "escalate_after_days": escalate})
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert not StepDeadline.objects.filter(program=program).exists()
    assert entries(program) == before


def test_an_agent_cannot_change_limits_and_the_admin_only_reads_them(client, cast, program):
    client.force_login(cast.agent)
    response = client.post(reverse("notifications:deadlines", args=[program.pk]),
                           {"step": "screening", "remind_after_days": "1", "escalate_after_days": "2"})
    assert response.status_code == 403
    assert not StepDeadline.objects.exists()
    from django.contrib import admin

    from notifications.admin import StepDeadlineInline

    inline = StepDeadlineInline(Program, admin.site)
    assert not inline.has_add_permission(None) and not inline.has_change_permission(None)


def test_the_programs_page_shows_its_limits_and_the_way_to_change_them(client, cast, program):
    client.force_login(cast.officer)
    html = client.get(reverse("programs:detail", args=[program.pk])).content.decode()
    assert "Time limits of the steps" in html
    assert reverse("notifications:deadlines", args=[program.pk]) in html
