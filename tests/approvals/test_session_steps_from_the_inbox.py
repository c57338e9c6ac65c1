"""A committee's steps opened from the inbox lead back to it: the chair's opening and
closing, the officer's attendance; a ballot's votes and a console's decisions, each one
part of a task, come back to their page, which still leads to the inbox. The action
buttons are the session's actions (``approvals.actions.session_actions``)."""

import html
import re

import pytest

from tests._committee_screens import decision_data, declaration_data, url, vote_data
from tests._committee_support import declare_and_vote, fresh_session, open_session, plan_session
from tests._web import as_user, html_of

pytestmark = pytest.mark.django_db

INBOX = "/inbox/"


def task_link(client, kind):
    """The link of the inbox's only ``kind`` task (the task's screen, with ``?next=``)."""
    page = html_of(client.get(INBOX))
    rows = re.findall(rf'<tr class="tamkeen-inbox-row"[^>]*data-kind="{kind}">(.*?)</tr>', page, re.S)
    assert len(rows) == 1, rows
    return html.unescape(re.search(r'class="tamkeen-inbox-open" href="([^"]+)"', rows[0]).group(1))


def action_href(page, name):
    hrefs = {html.unescape(h) for h in re.findall(rf'data-action="{name}" href="([^"]+)"', page)}
    assert len(hrefs) == 1, hrefs
    return hrefs.pop()


def test_the_chair_opens_from_the_inbox_and_comes_back_to_it(client, board, project):
    from approvals import services as committee

    session, _items = plan_session(board, [project])
    committee.session_record_attendance(session_id=session.pk, actor=board.officer,
                                        present_user_ids=[u.pk for u in board.everyone])
    as_user(client, board.chair)
    console = task_link(client, "opening")
    assert console.startswith(url("console", session.pk) + "?next=")
    page = html_of(client.get(console))
    assert f'href="{INBOX}"' in page  # the header leads back
    opening = action_href(page, "open")
    assert opening == url("open", session.pk) + "?next=%2Finbox%2F"
    assert "close" not in re.findall(r'data-action="(\w+)"', page)

    response = client.post(opening)
    assert response.status_code == 302 and response.url == INBOX
    assert fresh_session(session).state == "open"


def test_only_the_chair_is_offered_to_open_the_session(client, board, project):
    session, _items = plan_session(board, [project])
    as_user(client, board.officer)  # reads the console, does not chair
    assert "open" not in re.findall(r'data-action="(\w+)"', html_of(client.get(url("console", session.pk))))
    as_user(client, board.chair)
    assert "open" in re.findall(r'data-action="(\w+)"', html_of(client.get(url("console", session.pk))))


def test_a_vote_comes_back_to_the_ballot_which_still_leads_to_the_inbox(client, board, project):
    session, (item,) = open_session(board, [project])
    member = board.members[0]
    as_user(client, member)
    ballot = task_link(client, "ballot")
    assert ballot.startswith(url("member", session.pk) + "?next=")
    page = html_of(client.get(ballot))
    assert f'action="{url("declare", session.pk, item.pk)}?next=%2Finbox%2F"' in page

    response = client.post(url("declare", session.pk, item.pk) + "?next=%2Finbox%2F", declaration_data(item))
    assert response.url == url("member", session.pk) + f"?next=%2Finbox%2F#item-{item.pk}"
    response = client.post(url("vote", session.pk, item.pk) + "?next=%2Finbox%2F", vote_data(item))
    assert response.url == url("member", session.pk) + f"?next=%2Finbox%2F#item-{item.pk}"
    # The ballot is complete: the task left the inbox.
    assert 'data-kind="ballot"' not in html_of(client.get(INBOX))


def test_the_chair_confirms_on_the_console_then_closes_back_to_the_inbox(client, board, project):
    session, (item,) = open_session(board, [project])
    for user in board.everyone:
        declare_and_vote(item, user, "approve")
    as_user(client, board.chair)
    console = task_link(client, "closing")
    page = html_of(client.get(console))
    form_action = f'{url("confirm_decision", session.pk, item.pk)}?next=%2Finbox%2F'
    assert f'action="{form_action}"' in page
    response = client.post(form_action, decision_data(item, amount="50000.00", conditions=""))
    assert response.url == url("console", session.pk) + f"?next=%2Finbox%2F#item-{item.pk}"

    page = html_of(client.get(response.url.partition("#")[0]))
    closing = action_href(page, "close")
    assert closing == url("close", session.pk) + "?next=%2Finbox%2F"
    response = client.post(closing, {"confirm": "on"})
    assert response.status_code == 302 and response.url == INBOX
    assert fresh_session(session).state == "closed"


def test_a_next_to_another_site_is_not_followed(client, board, project):
    session, (item,) = open_session(board, [project])
    member = board.members[0]
    as_user(client, member)
    page = html_of(client.get(url("member", session.pk) + "?next=https://evil.example/"))
    # (The language switch keeps the page's own address; nothing of ours leads there.)
    assert 'href="https://evil.example/"' not in page
    assert f'action="{url("declare", session.pk, item.pk)}"' in page  # no next carried on
    response = client.post(url("declare", session.pk, item.pk) + "?next=https://evil.example/",
                           declaration_data(item))
    assert response.url == url("member", session.pk) + f"#item-{item.pk}"
