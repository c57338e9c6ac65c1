"""The program officer's committee screens (approvals.views.committees): create a
program's committee with its chair, seat a member or a chair for a period, end a seat.
Each posts to one service; its coded errors land on the form's fields, and a refused
post changes nothing."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from approvals import services as committee
from approvals.models import Committee, CommitteeMember
from core.roles import Role
from tests._web import as_user, html_of

pytestmark = pytest.mark.django_db


def url(name, *args):
    return reverse(f"committees:{name}", args=args)


def seats(committee):
    return list(CommitteeMember.objects.filter(committee=committee).order_by("pk")
                .values_list("user_id", "role", "is_active", "active_from", "active_to"))


def day(offset=0):
    return (timezone.localdate() + timedelta(days=offset)).isoformat()


# --- a new committee ---------------------------------------------------------------------------


def test_an_officer_creates_a_programs_committee_with_its_chair(client, cast, program, make_user):
    as_user(client, cast.officer)
    page = html_of(client.get(url("committee_create", program.pk)))
    assert cast.chair.username in page or cast.chair.get_full_name() in page

    response = client.post(url("committee_create", program.pk), {"name": "Comité provincial", "chair": cast.chair.pk})

    committee = Committee.objects.get(program=program)
    assert response.status_code == 302 and response["Location"] == url("committee", committee.pk)
    assert seats(committee) == [(cast.chair.pk, "chair", True, timezone.localdate(), None)]
    page = html_of(client.get(response["Location"]))
    assert "Committee created: now seat its members." in page and "Comité provincial" in page


def test_a_committee_without_a_name_is_refused_on_the_field(client, cast, program):
    as_user(client, cast.officer)
    response = client.post(url("committee_create", program.pk), {"name": "  ", "chair": cast.chair.pk})
    html_of(response)
    assert list(response.context["form"].errors) == ["name"]
    assert not Committee.objects.exists()


def test_only_officers_create_committees(client, program, make_user):
    for role in (Role.COMMITTEE_CHAIR, Role.COMMITTEE_MEMBER, Role.AUDITOR):
        as_user(client, make_user(role, *([Role.COMMITTEE_MEMBER] if role == Role.COMMITTEE_CHAIR else [])))
        assert client.get(url("committee_create", program.pk)).status_code == 403
        assert client.post(url("committee_create", program.pk), {"name": "X"}).status_code == 403
    assert not Committee.objects.exists()


# --- the committee's page ----------------------------------------------------------------------


def test_the_committee_page_lists_the_seats_and_offers_the_officer_to_change_them(client, board):
    as_user(client, board.officer)
    page = html_of(client.get(url("committee", board.committee.pk)))
    assert page.count('class="tamkeen-seat tamkeen-seat--seated"') == 5
    assert page.count("tamkeen-end-seat") == 5 and url("member_add", board.committee.pk) in page
    as_user(client, board.members[0])
    page = html_of(client.get(url("committee", board.committee.pk)))
    assert "tamkeen-end-seat" not in page and url("member_add", board.committee.pk) not in page


def test_roles_that_do_not_read_committees_get_a_403(client, board, make_user):
    as_user(client, make_user(Role.ASSOCIATION_AGENT))
    assert client.get(url("committee", board.committee.pk)).status_code == 403


def test_an_unknown_committee_is_a_404(client, cast):
    as_user(client, cast.officer)
    assert client.get(url("committee", 999999)).status_code == 404


# --- seating a member --------------------------------------------------------------------------


def test_an_officer_seats_a_member_for_a_period(client, board, make_user):
    newcomer = make_user(Role.COMMITTEE_MEMBER)
    as_user(client, board.officer)
    page = html_of(client.get(url("member_add", board.committee.pk)))
    assert "tamkeen-seats" in page  # the seats beside the form

    response = client.post(url("member_add", board.committee.pk), {
        "user": newcomer.pk, "role": "member", "active_from": day(1), "active_to": day(30)})

    assert response.status_code == 302 and response["Location"] == url("committee", board.committee.pk)
    assert seats(board.committee)[-1] == (newcomer.pk, "member", True, timezone.localdate() + timedelta(days=1),
                                          timezone.localdate() + timedelta(days=30))
    page = html_of(client.get(response["Location"]))
    assert "Seat recorded." in page and 'tamkeen-seat--upcoming' in page


def test_a_second_chair_is_refused_on_the_role_field_not_with_a_500(client, board, make_user):
    other_chair = make_user(Role.COMMITTEE_CHAIR, Role.COMMITTEE_MEMBER)
    as_user(client, board.officer)
    before = seats(board.committee)

    response = client.post(url("member_add", board.committee.pk), {"user": other_chair.pk, "role": "chair"})

    page = html_of(response)
    assert response.context["form"].errors == {"role": ["This committee already has a chair."]}
    assert "tamkeen-field--error" in page
    assert seats(board.committee) == before


def test_a_seat_starting_in_the_past_is_refused_on_its_field(client, board, make_user):
    newcomer = make_user(Role.COMMITTEE_MEMBER)
    as_user(client, board.officer)
    before = seats(board.committee)
    response = client.post(url("member_add", board.committee.pk), {
        "user": newcomer.pk, "role": "member", "active_from": day(-3)})
    html_of(response)
    assert list(response.context["form"].errors) == ["active_from"]
    assert seats(board.committee) == before


def test_only_officers_seat_members(client, board, make_user):
    newcomer = make_user(Role.COMMITTEE_MEMBER)
    as_user(client, board.chair)
    assert client.get(url("member_add", board.committee.pk)).status_code == 403
    before = seats(board.committee)
    assert client.post(url("member_add", board.committee.pk),
                       {"user": newcomer.pk, "role": "member"}).status_code == 403
    assert seats(board.committee) == before


# --- ending a seat ----------------------------------------------------------------------------


def test_ending_a_seat_asks_for_a_confirmation(client, board):
    seat = CommitteeMember.objects.get(committee=board.committee, user=board.members[0])
    as_user(client, board.officer)
    page = html_of(client.get(url("member_end", board.committee.pk, seat.pk)))
    assert 'name="confirm"' in page
    before = seats(board.committee)

    refused = client.post(url("member_end", board.committee.pk, seat.pk), {"active_to": day(2)})
    html_of(refused)
    assert "confirm" in refused.context["form"].errors
    assert seats(board.committee) == before

    response = client.post(url("member_end", board.committee.pk, seat.pk), {"active_to": day(2), "confirm": "on"})
    assert response.status_code == 302 and response["Location"] == url("committee", board.committee.pk)
    assert CommitteeMember.objects.get(pk=seat.pk).active_to == timezone.localdate() + timedelta(days=2)


def test_ending_a_seat_in_the_past_is_refused_on_the_field(client, board):
    seat = CommitteeMember.objects.get(committee=board.committee, user=board.members[1])
    as_user(client, board.officer)
    response = client.post(url("member_end", board.committee.pk, seat.pk), {"active_to": day(-1), "confirm": "on"})
    html_of(response)
    assert list(response.context["form"].errors) == ["active_to"]
    assert CommitteeMember.objects.get(pk=seat.pk).active_to is None


def test_only_officers_end_seats(client, board):
    seat = CommitteeMember.objects.get(committee=board.committee, user=board.members[1])
    as_user(client, board.members[0])
    assert client.get(url("member_end", board.committee.pk, seat.pk)).status_code == 403
    assert client.post(url("member_end", board.committee.pk, seat.pk),
                       {"active_to": day(), "confirm": "on"}).status_code == 403
    assert CommitteeMember.objects.get(pk=seat.pk).active_to is None


def test_a_seat_of_another_committee_is_a_404(client, board, cast, program):
    other = committee.committee_create(actor=cast.officer, program=program, name="Autre comité",
                                       members=[(cast.chair, "chair")])
    seat = CommitteeMember.objects.get(committee=board.committee, user=board.members[1])
    as_user(client, board.officer)
    assert client.get(url("member_end", other.pk, seat.pk)).status_code == 404
