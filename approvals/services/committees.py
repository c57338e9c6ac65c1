"""Committees, their seats and the program's scoring criteria.

A seat is held from ``active_from`` to ``active_to``, both days included (an empty one
is open); each session reads its committee's seats on its own day
(``approvals.selectors``), so a seat that has not started or has ended counts for
neither quorum nor votes. Seats are recorded as they change: a seat starts today or
later and ends today or later, so no past session's seats are rewritten.

Members are chosen among the active users holding the committee member or chair role,
a chair among those holding the chair role. A committee has one chair on any day: a
chair's seat whose dates meet another chair's is refused with ``committee_has_chair``.
The committee's row is locked while its seats change, so two officers seating two
chairs at once are serialised.
"""

from datetime import date

from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _

from approvals.models import Committee, CommitteeMember, ScoringCriterion
from approvals.selectors import seatable_users
from core.exceptions import InvalidInput, NotFound
from core.input import require_text
from core.roles import Role, roles_of
from core.transactions import service_transaction
from ledger.transitions import check_permission
from workflow.models import Program

CHAIR, MEMBER = CommitteeMember.Role.CHAIR, CommitteeMember.Role.MEMBER

DEFAULT_CRITERIA = [
    ("viability", "Viabilité économique", "الجدوى الاقتصادية", "Economic viability"),
    ("impact", "Impact social", "الأثر الاجتماعي", "Social impact"),
    ("capacity", "Capacité de la porteuse", "قدرات حاملة المشروع", "Project holder's capacity"),
    ("market", "Marché et débouchés", "السوق والمنافذ", "Market and outlets"),
]


@service_transaction
def committee_create(*, actor, program, name, members=(), active_from=None) -> Committee:
    """Create a program's committee with its first seats: ``members`` is a list of
    ``(user, "member"|"chair")`` with exactly one chair, each seat held from
    ``active_from`` (today or later; none: from the start). Program officer.
    Raises ``PermissionDenied``, ``InvalidInput`` (``name``, ``chair`` for the chair's
    seat, ``members`` for the others, ``active_from``)."""
    check_permission(actor, "approvals.add_committee")
    if not isinstance(program, Program):
        raise InvalidInput(field_errors={"program": [_("Choose a program from the list.")]})
    errors = {}
    try:
        name = require_text(name, "name", max_length=200)
    except InvalidInput as exc:
        errors.update(exc.field_errors)
    start = _day(active_from, "active_from", errors)
    chairs = [user for user, role in members if role == CHAIR]
    if len(chairs) != 1:
        errors.setdefault("members", []).append(_("A committee has exactly one chair."))
    for user, role in members:
        for field, messages in _seat_problems(user, role, start, None).items():
            # The chair's seat is a field of its own on the committee's form.
            target = field if field not in ("user", "role") else "chair" if role == CHAIR else "members"
            errors.setdefault(target, []).extend(messages)
    if errors:
        raise InvalidInput(field_errors=errors)
    committee = Committee.objects.create(program=program, name=name)
    for user, role in members:
        CommitteeMember.objects.create(committee=committee, user=user, role=role, active_from=start)
    return committee


@service_transaction
def committee_add_member(*, actor, committee, user, role=MEMBER, active_from=None, active_to=None) -> CommitteeMember:
    """Seat ``user`` on ``committee`` as a member or its chair, from ``active_from`` to
    ``active_to`` (today or later; none: open). A seat that was ended or withdrawn is
    taken up again with the new role and dates. Program officer.

    Raises ``NotFound`` (committee), ``PermissionDenied``, ``InvalidInput`` (``user``,
    ``role``, ``active_from``, ``active_to``; ``already_seated`` when the user's seat
    still runs; ``committee_has_chair`` when another chair's seat meets these dates)."""
    check_permission(actor, "approvals.add_committeemember")
    committee = _lock_committee(getattr(committee, "pk", committee))
    errors = {}
    start = _day(active_from, "active_from", errors)
    end = _day(active_to, "active_to", errors)
    for field, messages in _seat_problems(user, role, start, end).items():
        errors.setdefault(field, []).extend(messages)
    if errors:
        raise InvalidInput(field_errors=errors)
    today = timezone.localdate()
    seat = CommitteeMember.objects.filter(committee=committee, user=user).first()
    if seat is not None and seat.is_active and (seat.active_to is None or seat.active_to >= today):
        raise InvalidInput(code="already_seated", field_errors={"user": [
            _("This person already sits on this committee.")]})
    if role == CHAIR:
        _refuse_second_chair(committee, start, end, other_than=seat)
    if seat is None:
        return CommitteeMember.objects.create(committee=committee, user=user, role=role,
                                              active_from=start, active_to=end)
    seat.role, seat.is_active, seat.active_from, seat.active_to = role, True, start, end
    seat.save(update_fields=["role", "is_active", "active_from", "active_to"])
    return seat


@service_transaction
def committee_end_member(*, actor, member_id, active_to=None) -> CommitteeMember:
    """End a seat: its last day is ``active_to`` (today when not given; today or later,
    and not before the seat starts). Program officer.

    Raises ``NotFound``, ``PermissionDenied``, ``InvalidInput`` (``active_to``;
    ``seat_ended`` when the seat already ends by then)."""
    check_permission(actor, "approvals.change_committeemember")
    committee_id = CommitteeMember.objects.filter(pk=member_id).values_list("committee_id", flat=True).first()
    if committee_id is None:
        raise NotFound()
    _lock_committee(committee_id)
    seat = CommitteeMember.objects.select_related("user").get(pk=member_id)
    errors = {}
    end = _day(active_to, "active_to", errors) if active_to not in (None, "") else timezone.localdate()
    if errors:
        raise InvalidInput(field_errors=errors)
    if not seat.is_active or (seat.active_to is not None and seat.active_to <= end):
        raise InvalidInput(code="seat_ended", field_errors={"active_to": [_("This seat already ends by then.")]})
    if seat.active_from is not None and end < seat.active_from:
        raise InvalidInput(field_errors={"active_to": [_("A seat cannot end before it starts.")]})
    seat.active_to = end
    seat.save(update_fields=["active_to"])
    return seat


def criteria_ensure_defaults(program) -> list[ScoringCriterion]:
    """Give a program the default scoring criteria if it has none (idempotent)."""
    if not program.criteria.exists():
        for position, (code, fr, ar, en) in enumerate(DEFAULT_CRITERIA):
            ScoringCriterion.objects.get_or_create(
                program=program, code=code,
                defaults={"name_fr": fr, "name_ar": ar, "name_en": en, "position": position},
            )
    return list(program.criteria.all())


def _lock_committee(committee_id) -> Committee:
    try:
        return Committee.objects.select_for_update().select_related("program").get(pk=committee_id)
    except (Committee.DoesNotExist, TypeError, ValueError):
        raise NotFound() from None


def _day(value, field, errors) -> date | None:
    """A seat's day: today or later (a seat is recorded as it changes)."""
    if value in (None, ""):
        return None
    day = value if isinstance(value, date) else parse_date(str(value))
    if day is None:
        errors.setdefault(field, []).append(_("Enter a date."))
    elif day < timezone.localdate():
        errors.setdefault(field, []).append(_("A seat's dates are today or later."))
        return None
    return day


def _seat_problems(user, role, start, end) -> dict:
    errors = {}
    if role not in CommitteeMember.Role.values:
        errors["role"] = [_("Choose member or chair.")]
    if user is None or not seatable_users().filter(pk=user.pk).exists():
        errors["user"] = [_("Choose an active user holding the committee member or chair role.")]
    elif role == CHAIR and Role.COMMITTEE_CHAIR.value not in roles_of(user):
        errors["role"] = [_("Only a user holding the committee chair role can chair a committee.")]
    if start is not None and end is not None and end < start:
        errors["active_to"] = [_("A seat cannot end before it starts.")]
    return errors


def _refuse_second_chair(committee, start, end, *, other_than=None):
    """A committee has one chair on any day: refuse a chair's seat meeting another's."""
    chairs = CommitteeMember.objects.filter(committee=committee, role=CHAIR, is_active=True)
    if other_than is not None:
        chairs = chairs.exclude(pk=other_than.pk)
    for seat in chairs:
        starts_before_it_ends = seat.active_to is None or start is None or start <= seat.active_to
        ends_after_it_starts = seat.active_from is None or end is None or end >= seat.active_from
        if starts_before_it_ends and ends_after_it_starts:
            raise InvalidInput(code="committee_has_chair", field_errors={"role": [
                _("This committee already has a chair.")]}, params={"chair_seat": seat.pk})
