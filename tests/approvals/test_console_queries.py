"""The chair's console and the member's session page (issue 16) cost the same queries
whatever the length of the agenda: the tallies of every item are read in two queries
(its conflicts and votes), the files' documents in one.

The session is opened through the services with one real file; the other items, their
declarations and votes are then written directly (read-only measures)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from approvals.models import AgendaItem, InterestDeclaration, Vote
from tests._committee_support import declare_and_vote, make_board, open_session
from tests.workflow.test_query_budget import bulk_projects

pytestmark = pytest.mark.django_db
SMALL, LARGE = 3, 40


def queries(client, url) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return len(captured.captured_queries), response.content.decode()


@pytest.fixture
def session_with(cast, program, make_user, make_project):
    """An open session and a function adding ``n`` voted items to its agenda: every
    member declares no conflict and votes, but the last member declares a conflict on
    every other file."""
    board = make_board(cast, program, make_user, n_members=3)
    session, (item,) = open_session(board, [make_project("eligible")])
    declare_and_vote(item, board.members[0], "approve")

    def grow(n):
        projects = bulk_projects(n, "in_committee", program=program, creator=cast.agent)
        last = AgendaItem.objects.filter(session=session).count()
        items = AgendaItem.objects.bulk_create([
            AgendaItem(session=session, project=project, position=last + i) for i, project in enumerate(projects, 1)
        ])
        declarations, votes = [], []
        for i, added in enumerate(items):
            for member in board.everyone:
                conflict = member == board.members[-1] and i % 2 == 0
                declarations.append(InterestDeclaration(item=added, user=member, has_conflict=conflict))
                if not conflict:
                    votes.append(Vote(item=added, user=member, choice="approve" if i % 3 else "reject", scores={}))
        InterestDeclaration.objects.bulk_create(declarations)
        Vote.objects.bulk_create(votes)

    return board, session, grow


@pytest.mark.parametrize("page", ["console", "member", "detail"])
def test_the_session_pages_do_not_grow_with_the_agenda(client, session_with, page):
    board, session, grow = session_with
    user = board.chair if page != "member" else board.members[0]
    client.force_login(user)
    url = reverse(f"committees:{page}", args=[session.pk])
    grow(SMALL)
    client.get(url)  # warm the per-process caches
    small, _ = queries(client, url)
    grow(LARGE - SMALL)
    large, html = queries(client, url)
    assert small == large, f"{page}: {small} queries with {SMALL + 1} files, {large} with {LARGE + 1}"
    assert html.count("Atelier Bulk") >= LARGE  # the generated files are on the page
