"""The member's session page: per agenda item, the file summary (no CIN, no
disability detail), the declaration of interest, and — once "no conflict" is
declared and the session is open — the vote with one score per criterion.

A member sees their own vote only; other members' votes stay hidden while the
session is open. A recused member sees that they are recused, and nothing of the
item's tally.
"""

from dataclasses import dataclass, field

from django.db.models import prefetch_related_objects
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views import generic

from approvals import services
from approvals.forms import DeclarationForm, VoteForm
from approvals.models import OPEN, PLANNED, AgendaItem, Attendance, InterestDeclaration, Vote
from approvals.selectors import items_the_chair_is_recused_from, member_ids, present_ids, session_tallies
from approvals.services.voting import outcome_for
from approvals.views.access import SessionPageMixin
from approvals.views.chair import DecisionFormMixin
from approvals.views.chair import decision_form as chair_decision_form
from approvals.views.summaries import FileSummary, agenda_items, file_summary, proposal_label
from core.views import ServiceFormMixin, keep_next


@dataclass
class MemberRow:
    item: object
    summary: FileSummary
    declaration: object  # InterestDeclaration or None
    vote: object  # the member's own Vote or None
    declaration_form: object  # None when no declaration can be made
    vote_form: object  # None when the member cannot vote on this item
    votes_cast: int | None = None  # None for a recused member: no tally at all
    voters: int | None = None
    quorum_needed: int | None = None
    # What a refused post said, when its form is not shown (a recused member's row).
    refusals: list = field(default_factory=list)
    # The chair declared a conflict on the file: a present member without conflict
    # confirms its decision (DecisionForm), following the rule's proposal.
    chair_recused: bool = False
    decision_form: object = None
    proposal: str = ""
    outcome: str = ""

    @property
    def outcome_label(self):
        return AgendaItem.Outcome(self.outcome).label if self.outcome else ""

    @property
    def recused(self) -> bool:
        return self.declaration is not None and self.declaration.has_conflict

    @property
    def anchor(self) -> str:
        return f"item-{self.item.pk}"


def item_prefix(item) -> str:
    return f"item{item.pk}"


class MemberSessionView(SessionPageMixin, generic.TemplateView):
    template_name = "approvals/member_session.html"
    # Set by the POST endpoints: which form of which item was posted.
    posted = (None, None)

    def check_access(self):
        if not self.is_voter:
            self.deny(_("Only the members of this committee use its session page."))

    def rows(self, posted_form=None):
        session, user = self.session, self.request.user
        items = agenda_items(session)
        # Each file's documents for its summary, in one query for the whole agenda.
        prefetch_related_objects(items, "project__documents")
        criteria = list(session.committee.program.criteria.all())
        declarations = {d.item_id: d for d in InterestDeclaration.objects.filter(item__in=items, user=user)}
        votes = {v.item_id: v for v in Vote.objects.filter(item__in=items, user=user)}
        members, present = member_ids(session), present_ids(session)
        can_declare = session.state in (PLANNED, OPEN)
        can_vote = session.state == OPEN and user.pk in present
        chair_recused_from = items_the_chair_is_recused_from(items, session)
        tallies = session_tallies(session, items, members=members, present=present)
        can_act = can_vote and not self.is_chair
        rows = []
        for item in items:
            declaration, vote = declarations.get(item.pk), votes.get(item.pk)
            recused = declaration is not None and declaration.has_conflict
            prefix = item_prefix(item)
            declaration_form = vote_form = None
            if can_declare and not recused:
                declaration_form = DeclarationForm(prefix=prefix, initial={
                    "has_conflict": DeclarationForm.NONE if declaration else None})
            if can_vote and declaration is not None and not recused:
                initial = {"choice": vote.choice, "comment": vote.comment} if vote else {}
                for criterion in criteria:
                    if vote and criterion.code in vote.scores:
                        initial[VoteForm.score_field(criterion)] = vote.scores[criterion.code]
                vote_form = VoteForm(prefix=prefix, criteria=criteria, initial=initial)
            decision_form = None
            if item.pk in chair_recused_from and can_act and declaration is not None and not recused:
                decision_form = chair_decision_form(item)
            kind, posted_item = self.posted
            if posted_form is not None and posted_item == item.pk:
                if kind == "declaration":
                    declaration_form = posted_form
                elif kind == "decision":
                    decision_form = posted_form
                else:
                    vote_form = posted_form
            row = MemberRow(item=item, summary=file_summary(item.project), declaration=declaration, vote=vote,
                            declaration_form=declaration_form, vote_form=vote_form,
                            chair_recused=item.pk in chair_recused_from, decision_form=decision_form)
            if recused and posted_form is not None and posted_item == item.pk:
                row.refusals = [message for messages in posted_form.errors.values() for message in messages]
            if not recused:
                tally = tallies[item.pk]
                row.votes_cast, row.voters, row.quorum_needed = (
                    tally.votes_cast, len(tally.voters), tally.quorum_needed)
                if decision_form is not None:
                    row.proposal, row.outcome = proposal_label(tally.proposal), outcome_for(tally.proposal)
            rows.append(row)
        return rows

    def get_context_data(self, **kwargs):
        posted_form = kwargs.pop("posted_form", None)
        present = Attendance.objects.filter(session=self.session, user=self.request.user, present=True).exists()
        return super().get_context_data(rows=self.rows(posted_form), present=present,
                                        attendance_recorded=self.session.attendance.exists(), **kwargs)


class _ItemPostView(ServiceFormMixin, MemberSessionView):
    form_context_name = "posted_form"
    http_method_names = ["post"]
    kind = ""

    def check_access(self):
        super().check_access()
        self.item = get_object_or_404(self.session.items, pk=self.kwargs["item_pk"], removed=False)
        self.posted = (self.kind, self.item.pk)

    def get_redirect_url(self):
        # One vote is part of the ballot: back to the page, which still leads to the inbox.
        return keep_next(self.request, reverse("committees:member", args=[self.session.pk]) + f"#item-{self.item.pk}")


class DeclareInterestView(_ItemPostView):
    kind = "declaration"
    success_message = _("Your declaration of interest is recorded.")

    def get_bound_form(self):
        return DeclarationForm(self.request.POST, prefix=item_prefix(self.item))

    def call_service(self, form):
        services.item_declare_interest(item_id=self.item.pk, actor=self.request.user,
                                       has_conflict=form.cleaned_data["has_conflict"],
                                       note=form.cleaned_data["note"])


class ConfirmDecisionActingView(DecisionFormMixin, _ItemPostView):
    """A present member without conflict confirms the decision on a file the chair is
    recused from (the service checks every condition again)."""

    kind = "decision"
    success_message = _("Decision confirmed in the chair's place.")


class VoteView(_ItemPostView):
    kind = "vote"
    success_message = _("Your vote is recorded. You can change it until the session closes.")

    def get_bound_form(self):
        criteria = list(self.session.committee.program.criteria.all())
        return VoteForm(self.request.POST, prefix=item_prefix(self.item), criteria=criteria)

    def call_service(self, form):
        services.item_vote(item_id=self.item.pk, actor=self.request.user, choice=form.cleaned_data["choice"],
                           scores=form.scores(), comment=form.cleaned_data["comment"])
