"""A committee's seats and their dates (approvals.services.committees): a seat counts for
a session — attendance, quorum, votes, the chair's acts — only when it is held on the
session's day; a committee has one chair on any day (a coded refusal, never a 500)."""

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from approvals import services as committee
from approvals.models import CommitteeMember, CommitteeSession
from approvals.selectors import item_tally, member_ids
from core.exceptions import InvalidInput, PermissionDenied
from core.roles import Role
from tests._committee_support import plan_session, refused

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate


def seat_of(board, user):
    return CommitteeMember.objects.get(committee=board.committee, user=user)


def test_a_seat_ended_before_the_sessions_day_counts_for_nothing(board, project, cast):
    leaving = board.members[0]
    committee.committee_end_member(actor=cast.officer, member_id=seat_of(board, leaving).pk, active_to=TODAY())
    session, (item,) = plan_session(board, [project])  # in three days

    assert leaving.pk not in member_ids(session)
    assert item_tally(item).members == 4  # the chair and three members, not five
    refused(lambda: committee.session_record_attendance(session_id=session.pk, actor=cast.officer,
                                                         present_user_ids=[leaving.pk]), "invalid_input")
    committee.session_record_attendance(session_id=session.pk, actor=cast.officer,
                                        present_user_ids=[u.pk for u in board.everyone if u != leaving])
    committee.session_open(session_id=session.pk, actor=board.chair)
    refused(lambda: committee.item_declare_interest(item_id=item.pk, actor=leaving, has_conflict=False),
            "not_a_member")


def test_a_seat_counts_from_its_first_day(board, project, cast, make_user):
    newcomer = make_user(Role.COMMITTEE_MEMBER)
    committee.committee_add_member(actor=cast.officer, committee=board.committee, user=newcomer,
                                   active_from=TODAY() + timedelta(days=2))
    session, (item,) = plan_session(board, [project])  # in three days: the seat is held
    assert newcomer.pk in member_ids(session)
    assert item_tally(item).members == 6
    assert newcomer.pk not in member_ids(CommitteeSession(committee=board.committee, scheduled_for=timezone.now()))


def test_a_seat_ending_today_still_counts_today(board, cast):
    seat = committee.committee_end_member(actor=cast.officer, member_id=seat_of(board, board.members[1]).pk)
    assert seat.active_to == TODAY()
    today = CommitteeSession(committee=board.committee, scheduled_for=timezone.now())
    assert board.members[1].pk in member_ids(today)


def test_a_second_chair_on_the_same_days_is_refused_with_a_code(board, cast, make_user):
    other_chair = make_user(Role.COMMITTEE_CHAIR, Role.COMMITTEE_MEMBER)
    before = list(CommitteeMember.objects.values_list("pk", "role", "active_from", "active_to"))
    error = refused(lambda: committee.committee_add_member(actor=cast.officer, committee=board.committee,
                                                          user=other_chair, role="chair"), "committee_has_chair")
    assert list(error.field_errors) == ["role"]
    assert list(CommitteeMember.objects.values_list("pk", "role", "active_from", "active_to")) == before


def test_a_new_chair_takes_over_the_day_after_the_old_chairs_seat_ends(board, cast, make_user):
    committee.committee_end_member(actor=cast.officer, member_id=seat_of(board, board.chair).pk,
                                   active_to=TODAY() + timedelta(days=9))
    successor = make_user(Role.COMMITTEE_CHAIR, Role.COMMITTEE_MEMBER)
    refused(lambda: committee.committee_add_member(
        actor=cast.officer, committee=board.committee, user=successor, role="chair",
        active_from=TODAY() + timedelta(days=9)), "committee_has_chair")
    seat = committee.committee_add_member(actor=cast.officer, committee=board.committee, user=successor,
                                          role="chair", active_from=TODAY() + timedelta(days=10))
    assert (seat.role, seat.active_from, seat.active_to) == ("chair", TODAY() + timedelta(days=10), None)


def test_the_database_keeps_one_open_ended_chair_as_a_backstop(board, make_user):
    with pytest.raises(IntegrityError), transaction.atomic():
        CommitteeMember.objects.create(committee=board.committee, user=make_user(Role.COMMITTEE_CHAIR), role="chair")


def test_who_may_sit_and_who_may_chair(board, cast, make_user):
    agent = make_user(Role.ASSOCIATION_AGENT)
    error = refused(lambda: committee.committee_add_member(actor=cast.officer, committee=board.committee,
                                                          user=agent), "invalid_input")
    assert list(error.field_errors) == ["user"]
    member = make_user(Role.COMMITTEE_MEMBER)
    error = refused(lambda: committee.committee_add_member(actor=cast.officer, committee=board.committee,
                                                          user=member, role="chair"), "invalid_input")
    assert list(error.field_errors) == ["role"]
    inactive = make_user(Role.COMMITTEE_MEMBER)
    inactive.is_active = False
    inactive.save()
    refused(lambda: committee.committee_add_member(actor=cast.officer, committee=board.committee,
                                                  user=inactive), "invalid_input")
    assert not CommitteeMember.objects.filter(user__in=[agent, member, inactive]).exists()


def test_a_seat_that_still_runs_is_not_added_twice_and_an_ended_one_is_taken_up_again(board, cast):
    member = board.members[2]
    refused(lambda: committee.committee_add_member(actor=cast.officer, committee=board.committee, user=member),
            "already_seated")
    seat = seat_of(board, member)
    CommitteeMember.objects.filter(pk=seat.pk).update(active_to=TODAY() - timedelta(days=1))  # ended yesterday
    again = committee.committee_add_member(actor=cast.officer, committee=board.committee, user=member,
                                           active_from=TODAY() + timedelta(days=1))
    assert again.pk == seat.pk and (again.active_from, again.active_to) == (TODAY() + timedelta(days=1), None)


def test_seat_dates_are_today_or_later_and_in_order(board, cast, make_user):
    user = make_user(Role.COMMITTEE_MEMBER)
    error = refused(lambda: committee.committee_add_member(
        actor=cast.officer, committee=board.committee, user=user, active_from=TODAY() - timedelta(days=1),
        active_to=TODAY() - timedelta(days=2)), "invalid_input")
    assert set(error.field_errors) == {"active_from", "active_to"}
    error = refused(lambda: committee.committee_add_member(
        actor=cast.officer, committee=board.committee, user=user, active_from=TODAY() + timedelta(days=5),
        active_to=TODAY() + timedelta(days=4)), "invalid_input")
    assert list(error.field_errors) == ["active_to"]
    seat = seat_of(board, board.members[0])
    refused(lambda: committee.committee_end_member(actor=cast.officer, member_id=seat.pk,
                                                  active_to=TODAY() - timedelta(days=1)), "invalid_input")
    committee.committee_end_member(actor=cast.officer, member_id=seat.pk, active_to=TODAY() + timedelta(days=3))
    refused(lambda: committee.committee_end_member(actor=cast.officer, member_id=seat.pk,
                                                  active_to=TODAY() + timedelta(days=5)), "seat_ended")


def test_a_committee_starts_with_exactly_one_chair_holding_the_chair_role(program, cast, make_user):
    member = make_user(Role.COMMITTEE_MEMBER)
    error = refused(lambda: committee.committee_create(actor=cast.officer, program=program, name="Comité",
                                                      members=[(member, "chair")]), "invalid_input")
    assert list(error.field_errors) == ["chair"]
    error = refused(lambda: committee.committee_create(actor=cast.officer, program=program, name=" ",
                                                      members=[(member, "member")]), "invalid_input")
    assert set(error.field_errors) == {"name", "members"}
    created = committee.committee_create(actor=cast.officer, program=program, name="Comité de Nador",
                                         members=[(cast.chair, "chair")], active_from=TODAY())
    assert list(created.members.values_list("user_id", "role", "active_from")) == [(cast.chair.pk, "chair", TODAY())]


def test_only_program_officers_change_seats(board, make_user):
    chair = make_user(Role.COMMITTEE_CHAIR, Role.COMMITTEE_MEMBER)
    with pytest.raises(PermissionDenied):
        committee.committee_add_member(actor=board.chair, committee=board.committee, user=chair)
    with pytest.raises(PermissionDenied):
        committee.committee_end_member(actor=board.chair, member_id=seat_of(board, board.members[0]).pk)
    with pytest.raises(InvalidInput):
        committee.committee_add_member(actor=board.officer, committee=board.committee, user=None)
