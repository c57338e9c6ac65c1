"""A tranche's steps opened from the inbox: the link lands on the finance tray searched
for that tranche (its own ``?q=`` kept beside the inbox's ``?next=``)."""

import re
from urllib.parse import parse_qs, urlsplit

import pytest

from core.views import with_next
from disbursements import services as funding
from tests._web import as_user, html_of

pytestmark = pytest.mark.django_db


def inbox_link(client, kind):
    html = html_of(client.get("/inbox/"))
    row = re.search(rf'<tr class="tamkeen-inbox-row" data-task="\d+" data-kind="{kind}">.*?</tr>', html, re.S)
    assert row is not None, f"no {kind} task in the inbox"
    return re.search(r'href="([^"]+)"', row.group(0)).group(1).replace("&amp;", "&")


def test_the_authorization_task_opens_the_tray_on_its_tranche(client, make_project, people):
    project = make_project("funding", amount="60000.00")
    tranche = funding.disbursement_request(project_id=project.pk, actor=people["finance"], amount="1000.00")
    as_user(client, people["authorizer"])

    link = inbox_link(client, "authorization")

    path, query = urlsplit(link).path, parse_qs(urlsplit(link).query)
    assert (path, query) == ("/funding/", {"q": [tranche.reference], "next": ["/inbox/"]})
    page = html_of(client.get(link))
    assert f"/funding/disbursements/{tranche.pk}/authorize/" in page


@pytest.mark.parametrize("url, expected", [
    ("/projects/3/screen/", "/projects/3/screen/?next=%2Finbox%2F"),
    ("/funding/?q=DB-2031-00001", "/funding/?q=DB-2031-00001&next=%2Finbox%2F"),
])
def test_next_joins_the_query_a_screen_already_has(url, expected):
    assert with_next(url, "/inbox/") == expected


def test_authorizing_from_the_inbox_comes_back_to_the_inbox(client, make_project, people):
    project = make_project("funding", amount="60000.00")
    tranche = funding.disbursement_request(project_id=project.pk, actor=people["finance"], amount="1000.00")
    as_user(client, people["authorizer"])
    page = html_of(client.get(inbox_link(client, "authorization")))
    action = re.search(rf'action="(/funding/disbursements/{tranche.pk}/authorize/[^"]*)"', page).group(1)
    assert action.endswith("?next=/inbox/") or action.endswith("?next=%2Finbox%2F")

    response = client.post(action.replace("&amp;", "&"), {"note": ""})

    assert response.status_code == 302 and response["Location"] == "/inbox/"
    assert type(tranche).objects.get(pk=tranche.pk).state == "authorized"
    assert 'data-kind="authorization"' not in html_of(client.get("/inbox/"))
