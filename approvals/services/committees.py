"""Committees, their members and the program's scoring criteria."""

from django.utils.translation import gettext as _

from approvals.models import Committee, CommitteeMember, ScoringCriterion
from core.exceptions import InvalidInput
from core.transactions import service_transaction
from ledger.transitions import check_permission

DEFAULT_CRITERIA = [
    ("viability", "Viabilité économique", "الجدوى الاقتصادية", "Economic viability"),
    ("impact", "Impact social", "الأثر الاجتماعي", "Social impact"),
    ("capacity", "Capacité de la porteuse", "قدرات حاملة المشروع", "Project holder's capacity"),
    ("market", "Marché et débouchés", "السوق والمنافذ", "Market and outlets"),
]


@service_transaction
def committee_create(*, actor, program, name, members=()) -> Committee:
    """Create a program's committee with its members: ``members`` is a list of
    ``(user, "member"|"chair")``; exactly one chair. Program officer."""
    check_permission(actor, "approvals.add_committee")
    name = (name or "").strip()
    if not name:
        raise InvalidInput(field_errors={"name": [_("This field is required.")]})
    chairs = [u for u, role in members if role == CommitteeMember.Role.CHAIR]
    if len(chairs) != 1:
        raise InvalidInput(field_errors={"members": [_("A committee has exactly one chair.")]})
    committee = Committee.objects.create(program=program, name=name)
    for user, role in members:
        CommitteeMember.objects.create(committee=committee, user=user, role=role)
    return committee


@service_transaction
def committee_add_member(*, actor, committee, user, role=CommitteeMember.Role.MEMBER) -> CommitteeMember:
    """Add (or reactivate) a member. Program officer."""
    check_permission(actor, "approvals.add_committeemember")
    if role == CommitteeMember.Role.CHAIR and committee.members.filter(role="chair", is_active=True).exists():
        raise InvalidInput(field_errors={"role": [_("This committee already has a chair.")]})
    member, _created = CommitteeMember.objects.update_or_create(
        committee=committee, user=user, defaults={"role": role, "is_active": True}
    )
    return member


def criteria_ensure_defaults(program) -> list[ScoringCriterion]:
    """Give a program the default scoring criteria if it has none (idempotent)."""
    if not program.criteria.exists():
        for position, (code, fr, ar, en) in enumerate(DEFAULT_CRITERIA):
            ScoringCriterion.objects.get_or_create(
                program=program, code=code,
                defaults={"name_fr": fr, "name_ar": ar, "name_en": en, "position": position},
            )
    return list(program.criteria.all())
