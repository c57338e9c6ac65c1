"""Keyset pagination: pages of a list that cost the same on the first page and the
thousandth, whatever the size of the table.

An offset page (``LIMIT 25 OFFSET 25000``) makes the database read and throw away every
row before it, and its "page 12 of 4,000" needs a ``COUNT`` of the whole match on every
view. A keyset page asks instead for "the 25 rows after this one" on the list's sort
key, which an index on that key answers by reading 26 rows. The cursor is the sort key
of the row at the edge of the page (and its primary key, so that equal keys still have
one order), carried in the pager's links as ``?after=…`` or ``?before=…``; the page says
whether there is more, never how many in all.

A list may be the concatenation of several querysets ("segments") sorted on the same
key: the inbox shows the tasks assigned to me, then those my roles may claim. Each
segment is one query that its own index serves (no ``OR`` across them); a cursor names
its segment, and a page that runs off the end of one segment goes on at the start of the
next. A page touches at most every segment once: its query count does not grow with
the rows.

The sort keys must be columns of the segment's model that are never NULL; the last one
should be the primary key.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import json
from dataclasses import dataclass, field
from decimal import Decimal
from urllib.parse import urlencode

from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _

PAGE_SIZE = 25
AFTER, BEFORE = "after", "before"


class InvalidCursor(ValueError):
    """A pager's cursor that this list did not write (edited, truncated, from another list)."""

    code = "invalid_cursor"
    message = _("This page's link is not valid any more: here is the first page.")


@dataclass
class KeysetPage:
    """One page of a keyset-paginated list: its ``rows`` and the links around it."""

    rows: list
    next_cursor: str = ""
    previous_cursor: str = ""
    # The list's other parameters (its filters), kept in the pager's links.
    params: dict = field(default_factory=dict)
    # Set when the request's cursor was refused (the page is then the first one).
    error_code: str = ""
    error: str = ""
    # The page is not the first one: the pager links back to the start.
    paged: bool = False

    def __iter__(self):
        return iter(self.rows)

    def __len__(self):
        return len(self.rows)

    @property
    def has_next(self) -> bool:
        return bool(self.next_cursor)

    @property
    def has_previous(self) -> bool:
        return bool(self.previous_cursor)

    @property
    def has_other_pages(self) -> bool:
        return self.has_next or self.has_previous or self.paged

    @property
    def next_query(self) -> str:
        return urlencode({**self.params, AFTER: self.next_cursor})

    @property
    def previous_query(self) -> str:
        return urlencode({**self.params, BEFORE: self.previous_cursor})

    @property
    def first_query(self) -> str:
        return urlencode(self.params)


def _plain(value):
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()  # full precision: keys compare equal after the round trip
    if isinstance(value, Decimal):
        return str(value)
    return value


def _field_name(model, key: str) -> str:
    name = key.lstrip("-")
    return model._meta.pk.name if name == "pk" else name


def encode_cursor(segment: int, values) -> str:
    raw = json.dumps([segment, [_plain(v) for v in values]], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, segments, keys) -> tuple[int, list]:
    """(segment, sort-key values) of ``cursor``; raises ``InvalidCursor``."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        segment, values = json.loads(raw)
    except (binascii.Error, ValueError, TypeError) as error:
        raise InvalidCursor(cursor) from error
    if not isinstance(segment, int) or not 0 <= segment < len(segments):
        raise InvalidCursor(cursor)
    if not isinstance(values, list) or len(values) != len(keys):
        raise InvalidCursor(cursor)
    model = segments[segment].model
    try:
        return segment, [
            model._meta.get_field(_field_name(model, key)).to_python(value) for key, value in zip(keys, values, strict=True)
        ]
    except Exception as error:  # a field's own validation error, whatever its class
        raise InvalidCursor(cursor) from error


def _beyond(keys, values, *, forward: bool) -> Q:
    """Rows strictly after (``forward``) or before the row whose keys are ``values``.

    ``(a, b) > (x, y)`` written as ``a >= x AND (a > x OR (a = x AND b > y))``: the
    leading range lets an index on ``a`` start at the cursor instead of at the edge."""
    condition = Q()
    equal = Q()
    for key, value in zip(keys, values, strict=True):
        name = key.lstrip("-")
        ascending = not key.startswith("-")
        op = "gt" if ascending == forward else "lt"
        condition |= equal & Q(**{f"{name}__{op}": value})
        equal &= Q(**{name: value})
    first = keys[0]
    lead = "gte" if (not first.startswith("-")) == forward else "lte"
    return Q(**{f"{first.lstrip('-')}__{lead}": values[0]}) & condition


def _reversed(keys) -> list[str]:
    return [key[1:] if key.startswith("-") else f"-{key}" for key in keys]


def _key_values(row, keys) -> list:
    return [row.pk if key.lstrip("-") == "pk" else getattr(row, key.lstrip("-")) for key in keys]


@dataclass
class Narrowed:
    """A list narrowed by a search that is cheap to test on one row but costly to find
    whole: a name that thousands of files share matches a quarter of the table, and
    finding every match to sort them reads the table. The newest ``window`` rows past
    the cursor (the list's own index reads them in order) are tested first; when they
    hold a full page of matches, that page is the answer (two queries: the window's
    edge, then its matches). Otherwise the matches are rare, and ``matching`` (the same
    list with the search found by its own indexes) gives them, few rows to sort: a
    third query. Either way the page is the same."""

    queryset: QuerySet  # the list before the search
    row_test: Q  # the search, as a condition on one row of ``queryset``
    matching: QuerySet  # ``queryset`` with the search applied in full
    window: int = 2000

    @property
    def model(self):
        return self.queryset.model


def _segment_rows(segment, condition: Q, order, want: int) -> list:
    """Up to ``want`` rows of ``segment`` meeting ``condition`` (the cursor), in ``order``."""
    if isinstance(segment, Narrowed):
        # The row just past the window: its keys bound the window as a range of the
        # list's index (a literal range the planner reads as ``window`` rows).
        keys = [key.lstrip("-") for key in order]
        edge = segment.queryset.filter(condition).order_by(*order).values_list(*keys)[segment.window:segment.window + 1]
        edge = next(iter(edge), None)
        window = condition if edge is None else condition & _beyond(order, list(edge), forward=False)
        rows = list(segment.queryset.filter(window).filter(segment.row_test).order_by(*order)[:want])
        if len(rows) >= want or edge is None:
            return rows
        segment = segment.matching
    return list(segment.filter(condition).order_by(*order)[:want])


def _walk(segments, keys, start_segment, start_values, *, forward, want):
    """Up to ``want`` rows from the cursor on, in the walking direction, each tagged with
    its segment: one query per segment reached (two or three for a ``Narrowed`` one)."""
    found = []
    indexes = range(start_segment, len(segments)) if forward else range(start_segment, -1, -1)
    for index in indexes:
        condition = Q()
        if index == start_segment and start_values is not None:
            condition = _beyond(keys, start_values, forward=forward)
        order = keys if forward else _reversed(keys)
        for row in _segment_rows(segments[index], condition, order, want - len(found)):
            row.keyset_segment = index
            found.append(row)
        if len(found) >= want:
            break
    return found


def keyset_page(segments, params, *, keys, size: int = PAGE_SIZE) -> KeysetPage:
    """The page of ``segments`` (a queryset, or a list of them shown one after the
    other) that the request's ``params`` (``request.GET``) ask for, ``size`` rows
    sorted on ``keys`` (e.g. ``("-created_at", "-pk")``).

    A cursor that does not decode gives the first page with ``error`` set (the
    template says so): a stale or edited link is not a server error."""
    if not isinstance(segments, list | tuple):
        segments = [segments]
    keys = list(keys)
    kept = {name: value for name, value in params.items() if name not in (AFTER, BEFORE) and value}
    after, before = params.get(AFTER) or "", params.get(BEFORE) or ""
    page = KeysetPage(rows=[], params=kept, paged=bool(after or before))
    try:
        if before:
            segment, values = decode_cursor(before, segments, keys)
            rows = _walk(segments, keys, segment, values, forward=False, want=size + 1)
            more_before = len(rows) > size
            rows = list(reversed(rows[:size]))
            page.rows = rows
            if rows:
                page.next_cursor = encode_cursor(rows[-1].keyset_segment, _key_values(rows[-1], keys))
                if more_before:
                    page.previous_cursor = encode_cursor(rows[0].keyset_segment, _key_values(rows[0], keys))
            return page
        segment, values = decode_cursor(after, segments, keys) if after else (0, None)
    except InvalidCursor:
        page.error_code, page.error = InvalidCursor.code, InvalidCursor.message
        segment, values, after, page.paged = 0, None, "", False
    rows = _walk(segments, keys, segment, values, forward=True, want=size + 1)
    page.rows = rows[:size]
    if len(rows) > size:
        last = page.rows[-1]
        page.next_cursor = encode_cursor(last.keyset_segment, _key_values(last, keys))
    if after and page.rows:
        first = page.rows[0]
        page.previous_cursor = encode_cursor(first.keyset_segment, _key_values(first, keys))
    return page


class KeysetListMixin:
    """For a ``generic.ListView``: its pages on a keyset instead of Django's paginator
    (which counts the whole list and reads past every earlier row). ``keyset`` is the
    list's order, or ``get_keyset()`` when it depends on the filters; the context gets
    ``page`` (a ``KeysetPage``, for ``core/includes/pager.html``) and the page's rows as
    the list's ``object_list``."""

    keyset: tuple = ("-pk",)
    paginate_by = PAGE_SIZE

    def get_keyset(self):
        return self.keyset

    def paginate_queryset(self, queryset, page_size):
        page = keyset_page(queryset, self.request.GET, keys=self.get_keyset(), size=page_size)
        return None, page, page.rows, page.has_other_pages

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["page"] = context["page_obj"]
        context["page_query"] = context["page"].first_query
        return context


class CappedPaginator(Paginator):
    """Django's numbered pages for a list kept as it is (viewflow's queue and archive
    pages), counted only up to ``cap`` rows: ``COUNT`` over a national queue reads all of
    it on every view. The pages reach the first ``cap`` rows; past them the summary says
    "of more than 1,000" and the filters narrow the list."""

    cap = 1000

    @cached_property
    def counted(self) -> int:
        rows = self.object_list
        if isinstance(rows, QuerySet):
            return rows.order_by()[: self.cap + 1].count()
        return len(rows)

    @cached_property
    def count(self) -> int:
        return min(self.counted, self.cap)

    @property
    def capped(self) -> bool:
        """More rows than the pages reach."""
        return self.counted > self.cap
