"""Arabic pages keep numbers, amounts, references and dates in their own left-to-right run
(``<bdi dir="ltr">``, core/bidi.py) and draw "from → to" in the reading direction."""

import re

import pytest
from django.conf import settings
from django.urls import reverse

from core.roles import Role
from disbursements import services as funding

pytestmark = pytest.mark.django_db

PASSWORD = "pass-Tamkeen-2025"
BDI = '<bdi dir="ltr">{}</bdi>'


@pytest.fixture
def paid(cast, make_user, make_project):
    """A project in funding with one released tranche (payment reference VIR-2026-12-0042)."""
    project = make_project("funding", amount="60000.00")
    authorizer = make_user(Role.AUTHORIZING_OFFICER, username="ordonnateur")
    treasurer = make_user(Role.TREASURER, username="comptable")
    d = funding.disbursement_request(project_id=project.pk, actor=cast.finance, amount="52500.00")
    funding.disbursement_authorize(disbursement_id=d.pk, actor=authorizer)
    funding.disbursement_release(disbursement_id=d.pk, actor=treasurer, password=PASSWORD,
                                 payment_reference="VIR-2026-12-0042", idempotency_key=f"k-{d.pk}")
    return project, d


def arabic_page(client, user, url) -> str:
    client.force_login(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "ar"
    response = client.get(url, HTTP_ACCEPT_LANGUAGE="ar")
    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="ar" dir="rtl"' in html
    return html


def test_amount_hint_payment_reference_and_amounts_are_isolated_in_arabic(client, cast, paid):
    project, d = paid
    html = arabic_page(client, cast.finance, reverse("funding:project", args=[project.pk]))
    assert BDI.format("VIR-2026-12-0042") in html  # the payment reference
    assert BDI.format(d.reference) in html
    assert BDI.format("52\u202f500,00") + "\u00a0د.م." in html  # the tranche, in the one format
    assert "MAD" not in re.sub(r"<[^>]+>", " ", html.split("<main", 1)[-1]).replace("(MAD", "")
    plan = arabic_page(client, cast.finance, reverse("funding:plan", args=[project.pk]))
    assert "مثلا " + BDI.format("52\u202f500,00") in plan  # the amount hint beside the form


def test_the_audit_timeline_isolates_its_values_and_its_arrow_reads_right_to_left(client, cast, paid):
    project, _d = paid
    html = arabic_page(client, cast.officer, reverse("projects:detail", args=[project.pk]))
    timeline = html.split('class="vf-list__table tamkeen-timeline"', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r'<tr class="tamkeen-timeline-entry.*?</tr>', timeline, re.S)
    assert rows
    for row in rows:
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        seq, when, states = cells[0], cells[1], cells[5]
        assert re.fullmatch(r'<bdi dir="ltr">\d+</bdi>', seq.strip()), seq
        assert re.fullmatch(r'<bdi dir="ltr">[\d/: ]+</bdi>', when.strip()), when
        assert "←" in states and "→" not in states, states
    assert "من ← إلى" in timeline  # the header says it the same way as the cells


def test_intake_hints_isolate_the_phone_and_the_amount(client, cast, program):
    html = arabic_page(client, cast.agent, reverse("projects:create") + f"?program={program.pk}")
    assert "مثلا " + BDI.format("06 12 34 56 78") in html
    assert "مثلا " + BDI.format("52\u202f500,00") in html
