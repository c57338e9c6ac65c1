"""Helpers of the committee screens' tests (``tests/approvals/test_committee_*views.py``):
URLs, the form data the pages post, one agenda item's card in a page, and a session
closed through the services."""

import re

from django.urls import reverse

from approvals import services as committee
from tests._committee_support import FULL_SCORES, declare_and_vote, fresh_session


def url(name, *args):
    return reverse(f"committees:{name}", args=args)


def item_card(html, item) -> str:
    """The HTML of one agenda item's card on the member page or the console."""
    start = html.index(f'id="item-{item.pk}"')
    following = re.search(r'id="item-\d+"', html[start + 10:])
    return html[start:start + 10 + following.start()] if following else html[start:]


def vote_data(item, choice="approve", scores=None, comment=""):
    prefix = f"item{item.pk}"
    data = {f"{prefix}-choice": choice, f"{prefix}-comment": comment}
    for code, value in (FULL_SCORES if scores is None else scores).items():
        data[f"{prefix}-score_{code}"] = str(value)
    return data


def declaration_data(item, conflict=False, note=""):
    prefix = f"item{item.pk}"
    return {f"{prefix}-has_conflict": "conflict" if conflict else "none", f"{prefix}-note": note}


def decision_data(item, **fields):
    return {f"decision{item.pk}-{name}": value for name, value in fields.items()}


def close_through_services(board, items, *, voters=None, amount="55000.00"):
    """``voters`` (default: everyone) approve every item; the chair confirms and closes."""
    session = items[0].session
    for item in items:
        for user in board.everyone if voters is None else voters:
            declare_and_vote(item, user, "approve")
        committee.item_confirm_decision(item_id=item.pk, actor=board.chair, amount=amount)
    committee.session_close(session_id=session.pk, actor=board.chair)
    return fresh_session(session)
