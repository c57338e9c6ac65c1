"""Keyset pages (core.pagination): every row once, in order, forwards and backwards,
ties on the sort key broken by the primary key, several querysets walked as one list,
bad cursors refused without a 500, and a page's query count that does not grow."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core.pagination import InvalidCursor, decode_cursor, encode_cursor, keyset_page

pytestmark = pytest.mark.django_db


@pytest.fixture
def people():
    """23 users, joined on 5 distinct instants (so most sort keys tie)."""
    base = timezone.now().replace(microsecond=123456)
    users = [User.objects.create(username=f"p{n:02d}") for n in range(23)]
    for n, user in enumerate(users):
        User.objects.filter(pk=user.pk).update(date_joined=base - timedelta(seconds=n % 5))
    return User.objects.filter(username__startswith="p")


def walk(queryset, keys, size):
    """Every page forwards, then every page back from the last; the rows of each."""
    forwards, params = [], {}
    while True:
        page = keyset_page(queryset, params, keys=keys, size=size)
        forwards.append([row.pk for row in page.rows])
        if not page.has_next:
            break
        params = {"after": page.next_cursor}
    backwards = []
    while page.has_previous:
        page = keyset_page(queryset, {"before": page.previous_cursor}, keys=keys, size=size)
        backwards.append([row.pk for row in page.rows])
    return forwards, backwards


@pytest.mark.parametrize("keys", [("-date_joined", "-pk"), ("date_joined", "pk"), ("-date_joined", "pk")])
def test_every_row_once_in_order_forwards_and_back(people, keys):
    expected = list(people.order_by(*keys).values_list("pk", flat=True))
    forwards, backwards = walk(people, keys, size=4)
    assert [pk for page in forwards for pk in page] == expected
    assert all(len(page) == 4 for page in forwards[:-1]) and len(forwards[-1]) == 3
    # Back from the last page: the same pages, in reverse, down to the first.
    assert backwards == forwards[-2::-1]


def test_segments_are_walked_as_one_list(people):
    first = people.filter(username__lt="p10")
    second = people.filter(username__gte="p10")
    keys = ("date_joined", "pk")
    expected = [*first.order_by(*keys).values_list("pk", flat=True),
                *second.order_by(*keys).values_list("pk", flat=True)]
    forwards, backwards = walk([first, second], keys, size=6)
    assert [pk for page in forwards for pk in page] == expected
    assert backwards == forwards[-2::-1]


def test_a_page_keeps_the_filters_in_its_links(people):
    page = keyset_page(people, {"q": "p", "role": "", "after": ""}, keys=("pk",), size=5)
    assert page.params == {"q": "p"}
    assert page.next_query.startswith("q=p&after=")
    assert page.first_query == "q=p"


@pytest.mark.parametrize("cursor", ["%%%", "e30", "WzEsWzFdXQ", "WzAsWzEsMiwzXV0", "WzAsWyJub3QgYSBkYXRlIiwxXV0"])
def test_a_cursor_this_list_did_not_write_gives_the_first_page_and_says_so(people, cursor):
    page = keyset_page(people, {"after": cursor}, keys=("-date_joined", "-pk"), size=5)
    assert page.error_code == "invalid_cursor" and page.error
    assert [row.pk for row in page.rows] == list(people.order_by("-date_joined", "-pk")
                                                   .values_list("pk", flat=True)[:5])
    with pytest.raises(InvalidCursor):
        decode_cursor(cursor, [people], ("-date_joined", "-pk"))


def test_cursors_keep_microseconds(people):
    row = people.order_by("pk").first()
    segment, values = decode_cursor(encode_cursor(0, [row.date_joined, row.pk]), [people], ("date_joined", "pk"))
    assert (segment, values) == (0, [row.date_joined, row.pk])


def test_a_page_costs_one_query_whatever_the_rows(people):
    def count(params):
        with CaptureQueriesContext(connection) as captured:
            keyset_page(people, params, keys=("-date_joined", "-pk"), size=4)
        return len(captured)

    first = keyset_page(people, {}, keys=("-date_joined", "-pk"), size=4)
    assert count({}) == count({"after": first.next_cursor}) == 1


def test_a_page_past_the_end_links_back_to_the_first(people):
    last = people.order_by("-date_joined", "-pk").last()
    cursor = encode_cursor(0, [last.date_joined, last.pk])
    page = keyset_page(people, {"after": cursor, "q": "p"}, keys=("-date_joined", "-pk"), size=5)
    assert page.rows == [] and not page.has_next and not page.has_previous
    assert page.paged and page.has_other_pages and page.first_query == "q=p"
    assert not keyset_page(people, {}, keys=("-date_joined", "-pk"), size=50).has_other_pages


# --- A narrowed list: the search tested on a window of the newest rows first ------------


def narrowed(people, window, *, matches=lambda username: int(username[1:]) % 3 == 0):
    """``people`` narrowed to the usernames ``matches`` keeps, with a window of ``window``
    rows; the full search is the same condition found whole (``matching``)."""
    from django.db.models import Q

    from core.pagination import Narrowed

    wanted = [user.username for user in people if matches(user.username)]
    row_test = Q(username__in=wanted)
    return Narrowed(queryset=people, row_test=row_test, matching=people.filter(row_test), window=window)


@pytest.mark.parametrize("window", [1, 3, 5, 8, 50])
@pytest.mark.parametrize("keys", [("-date_joined", "-pk"), ("date_joined", "pk")])
def test_a_narrowed_list_gives_the_pages_of_its_full_search(people, window, keys):
    """Whether a page is found in the window (dense matches) or by the full search
    (the window holds too few), the pages are those of the full search, both ways."""
    segment = narrowed(people, window)
    forwards, backwards = walk(segment, keys, size=2)
    expected_forwards, expected_backwards = walk(segment.matching, keys, size=2)
    assert forwards == expected_forwards and backwards == expected_backwards
    assert sorted(pk for page in forwards for pk in page) == sorted(segment.matching.values_list("pk", flat=True))


def test_a_dense_search_is_answered_from_the_window_alone(people):
    """Every row matches: the window's edge and its matches, two queries, and the full
    search is never run. A rare match: the window is not enough, the full search runs."""
    dense = narrowed(people, 10, matches=lambda username: True)
    with CaptureQueriesContext(connection) as queries:
        page = keyset_page(dense, {}, keys=("-date_joined", "-pk"), size=4)
    assert len(page.rows) == 4 and page.has_next
    assert len(queries) == 2
    rare = narrowed(people, 10, matches=lambda username: username == "p22")
    with CaptureQueriesContext(connection) as queries:
        page = keyset_page(rare, {}, keys=("-date_joined", "-pk"), size=4)
    assert [row.username for row in page.rows] == ["p22"] and not page.has_next
    assert len(queries) == 3
