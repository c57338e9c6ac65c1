"""Declarations of interest, votes and the chair's confirmation of each decision."""

from django.utils import timezone
from django.utils.translation import gettext as _

from approvals import tally as rule
from approvals.exceptions import NotAMember, NotPresent, Recused, UndeclaredInterest
from approvals.locks import lock_item_session
from approvals.models import AgendaItem, Attendance, CommitteeMember, InterestDeclaration, Vote
from approvals.selectors import item_tally, items_the_chair_is_recused_from, membership
from core.exceptions import InvalidInput
from core.input import clean_text, parse_money, require_text
from core.money import format_mad
from core.reasons import reason_english
from core.transactions import service_transaction
from ledger.transitions import apply_transition, check_permission, check_transition

MAX_SCORE = 5


def outcome_for(proposal: str) -> str:
    """The decision a proposal leads to: no quorum, a tie or no majority defer the file."""
    return proposal if proposal in (rule.APPROVE, rule.REVISE, rule.REJECT) else AgendaItem.Outcome.DEFER


def _require_member(session, actor) -> CommitteeMember:
    seat = membership(session, actor)
    if seat is None:
        raise NotAMember()
    return seat


@service_transaction
def item_declare_interest(*, item_id, actor, has_conflict, note="") -> InterestDeclaration:
    """Declare, for one agenda item, no conflict of interest or a conflict (which recuses
    the member from that item: no vote, no tally, not counted toward its quorum). A
    declared conflict is final; declaring one withdraws the member's vote on the item.
    Committee member, before or during the session."""
    item, session = lock_item_session(item_id)
    check_permission(actor, "approvals.vote_session")
    _require_member(session, actor)
    check_transition(session, "declare_interest")
    if item.removed:
        raise InvalidInput(field_errors={"item": [_("This file is no longer on the agenda.")]})
    note = clean_text(note)[:500]
    existing = InterestDeclaration.objects.filter(item=item, user=actor).first()
    if existing and existing.has_conflict and not has_conflict:
        raise InvalidInput(field_errors={"has_conflict": [_("A declared conflict of interest cannot be withdrawn.")]})
    declaration, _created = InterestDeclaration.objects.update_or_create(
        item=item, user=actor, defaults={"has_conflict": bool(has_conflict), "note": note}
    )
    withdrawn = bool(has_conflict) and Vote.objects.filter(item=item, user=actor).exists()
    if withdrawn:
        Vote.objects.filter(item=item, user=actor).delete()
    apply_transition(session, actor, "declare_interest", payload={
        "item": item.pk, "project": item.project_id, "conflict": bool(has_conflict), "note": note,
        "vote_withdrawn": withdrawn,
    })
    return declaration


def _clean_scores(program, scores) -> dict:
    criteria = list(program.criteria.values_list("code", flat=True))
    scores = scores or {}
    if not isinstance(scores, dict):
        raise InvalidInput(field_errors={"scores": [_("Give one score per criterion.")]})
    errors = {}
    clean = {}
    for code in criteria:
        value = scores.get(code)
        try:
            number = int(value)
            if str(value).strip() != str(number) or not 0 <= number <= MAX_SCORE:
                raise ValueError
        except (TypeError, ValueError):
            errors[f"score_{code}"] = [_("Give a whole score from 0 to %(max)d.") % {"max": MAX_SCORE}]
            continue
        clean[code] = number
    unknown = set(scores) - set(criteria)
    if unknown:
        errors["scores"] = [_("Unknown criteria: %(list)s.") % {"list": ", ".join(sorted(unknown))}]
    if errors:
        raise InvalidInput(field_errors=errors)
    return clean


@service_transaction
def item_vote(*, item_id, actor, choice, scores=None, comment="") -> Vote:
    """Vote on one agenda item — approve, revise or reject — with a score from 0 to 5 per
    criterion of the program and a comment. A second vote replaces the first (both are
    in the audit chain). Present, non-recused committee member of an open session."""
    if choice not in Vote.Choice.values:
        raise InvalidInput(field_errors={"choice": [_("Choose approve, request revision or reject.")]})
    item, session = lock_item_session(item_id)
    check_permission(actor, "approvals.vote_session")
    _require_member(session, actor)
    check_transition(session, "cast_vote")
    if item.removed:
        raise InvalidInput(field_errors={"item": [_("This file is no longer on the agenda.")]})
    if not Attendance.objects.filter(session=session, user=actor, present=True).exists():
        raise NotPresent()
    declaration = InterestDeclaration.objects.filter(item=item, user=actor).first()
    if declaration is None:
        raise UndeclaredInterest()
    if declaration.has_conflict:
        raise Recused()
    clean = _clean_scores(session.committee.program, scores)
    comment = clean_text(comment)
    if len(comment) > 2000:
        raise InvalidInput(field_errors={"comment": [_("At most %(n)d characters.") % {"n": 2000}]})
    previous = Vote.objects.filter(item=item, user=actor).first()
    vote, _created = Vote.objects.update_or_create(
        item=item, user=actor, defaults={"choice": choice, "scores": clean, "comment": comment}
    )
    apply_transition(session, actor, "cast_vote", payload={
        "item": item.pk, "project": item.project_id, "choice": choice, "scores": clean, "comment": comment,
        "replaces": previous.choice if previous else None,
    })
    return vote


def _confirming_transition(item, session, actor) -> str:
    """Who may confirm ``item``'s decision: the chair, unless recused from the file; then
    a present member who declared no conflict on it, presiding for that file."""
    seat = _require_member(session, actor)
    declaration = InterestDeclaration.objects.filter(item=item, user=actor).first()
    if seat.role == CommitteeMember.Role.CHAIR:
        if declaration is not None and declaration.has_conflict:
            raise Recused(_("You declared a conflict of interest on this file: a member present who has no "
                            "conflict confirms its decision in your place."))
        check_permission(actor, "approvals.chair_session")
        return "confirm_decision"
    if item.pk not in items_the_chair_is_recused_from([item], session):
        raise NotAMember(_("Only the committee's chair can do this."))
    check_permission(actor, "approvals.vote_session")
    if not Attendance.objects.filter(session=session, user=actor, present=True).exists():
        raise NotPresent(_("Only a member recorded as present can confirm a decision in the chair's place."))
    if declaration is None:
        raise UndeclaredInterest()
    if declaration.has_conflict:
        raise Recused()
    return "confirm_decision_acting"


@service_transaction
def item_confirm_decision(*, item_id, actor, amount=None, conditions="", reason="") -> AgendaItem:
    """Confirm the decision the rule proposes for one item, while the session is open:
    the chair — or, on a file the chair is recused from, a present committee member who
    declared no conflict on it (audited as ``confirm_decision_acting``). Approval needs
    an amount (≤ requested, ≤ program ceiling) and may carry conditions; revision and
    rejection need a reason; no quorum, a tie or no majority defer the file. Confirming
    again (after more votes) replaces the decision."""
    item, session = lock_item_session(item_id)
    transition = _confirming_transition(item, session, actor)
    check_transition(session, transition)
    if item.removed:
        raise InvalidInput(field_errors={"item": [_("This file is no longer on the agenda.")]})
    result = item_tally(item)
    outcome = outcome_for(result.proposal)
    project = item.project
    item.approved_amount, item.conditions, item.reason = None, "", ""
    item.reason_code, item.reason_params = "", {}
    if outcome == AgendaItem.Outcome.APPROVE:
        value = parse_money(amount, "amount")
        if value > project.requested_amount:
            raise InvalidInput(field_errors={"amount": [_("The approved amount cannot exceed the requested amount.")]})
        if value > project.program.project_ceiling:
            raise InvalidInput(field_errors={"amount": [
                _("The approved amount cannot exceed the program ceiling of %(ceiling)s.")
                % {"ceiling": format_mad(project.program.project_ceiling)}]})
        item.approved_amount, item.conditions = value, clean_text(conditions)
    elif outcome in (AgendaItem.Outcome.REVISE, AgendaItem.Outcome.REJECT):
        item.reason = require_text(reason, "reason")
    else:
        item.reason = clean_text(reason)
        if not item.reason:
            # The rule's own reason: a code, shown in each reader's language.
            item.reason_code = result.proposal
            item.reason = reason_english(item.reason_code)
    item.outcome, item.confirmed_by, item.confirmed_at = outcome, actor, timezone.now()
    item.confirmed_tally = result.as_dict()
    item.save(update_fields=["outcome", "approved_amount", "conditions", "reason", "reason_code", "reason_params",
                             "confirmed_by", "confirmed_at", "confirmed_tally"])
    apply_transition(session, actor, transition, payload={
        "item": item.pk, "project": project.pk, "tally": result.as_dict(), "outcome": outcome,
        "amount": item.approved_amount, "conditions": item.conditions, "reason": item.reason,
        **({"reason_code": item.reason_code} if item.reason_code else {}),
    })
    return item


__all__ = ["item_confirm_decision", "item_declare_interest", "item_tally", "item_vote", "outcome_for"]
