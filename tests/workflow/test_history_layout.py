"""The file's audit history uses the page's whole width (issue 15): its card sits in a
full-width grid cell below the beneficiary and process cards, long payloads fold."""

import re

import pytest
from django.conf import settings
from django.urls import reverse

from core.roles import Role

pytestmark = pytest.mark.django_db


def test_the_project_history_spans_the_whole_page(client, make_user, make_project):
    project = make_project("approved", amount="55000.00")
    client.force_login(make_user(Role.AUDITOR, username="auditrice"))
    html = client.get(reverse("projects:detail", args=[project.pk])).content.decode()
    cell = re.search(r'<div class="mdc-layout-grid__cell mdc-layout-grid__cell--span-12 tamkeen-timeline-cell">(.*)',
                     html, re.S)
    assert cell is not None
    assert '<table class="vf-list__table tamkeen-timeline">' in cell.group(1)
    # Drawn after the side cards (the grid's order), not squeezed beside them.
    stylesheet = (settings.BASE_DIR / "static" / "tamkeen" / "tamkeen.css").read_text()
    assert ".tamkeen-timeline-cell { order: 1; }" in stylesheet
