"""What the committee pages show of a file, read once per page.

A committee member sees a file's substance — title, sector, commune, amounts,
description, which documents it holds — and the beneficiary's category as a word,
never the CIN, the name, nor any disability detail (the kind of proof, the
documents carrying it). ``FileSummary`` carries only those fields, so a template
cannot show more than it was given.
"""

from dataclasses import dataclass, field
from decimal import Decimal

from django.utils.translation import gettext_lazy as _

from approvals.models import AgendaItem
from approvals.tally import PROPOSAL_LABELS
from workflow.selectors import SENSITIVE_DOCUMENT_TYPES


@dataclass(frozen=True)
class FileSummary:
    reference: str
    title: str
    sector: str
    commune: str
    categories: list
    requested_amount: Decimal
    own_contribution: Decimal
    description: str
    document_types: list = field(default_factory=list)
    restricted_documents: int = 0


def file_summary(project) -> FileSummary:
    beneficiary = project.beneficiary
    categories = []
    if beneficiary.is_woman_in_difficulty:
        categories.append(_("woman in a difficult situation"))
    if beneficiary.has_disability:
        categories.append(_("person with a disability"))
    # .all(), sorted here: the documents prefetched for a whole agenda are used as they are.
    documents = sorted(project.documents.all(), key=lambda document: (document.doc_type, document.pk))
    shown = [d for d in documents if d.doc_type not in SENSITIVE_DOCUMENT_TYPES]
    return FileSummary(
        reference=project.reference, title=project.title, sector=str(project.sector),
        commune=str(beneficiary.commune), categories=categories,
        requested_amount=project.requested_amount, own_contribution=project.own_contribution,
        description=project.description,
        document_types=[d.get_doc_type_display() for d in shown],
        restricted_documents=len(documents) - len(shown),
    )


def agenda_items(session):
    """The session's current agenda, in order, with what the pages need of each file."""
    return list(
        AgendaItem.objects.filter(session=session, removed=False)
        .select_related("project", "project__program", "project__sector", "project__beneficiary",
                        "project__beneficiary__commune", "confirmed_by", "session__committee__program")
        .order_by("position", "pk")
    )


def proposal_label(proposal: str) -> str:
    return PROPOSAL_LABELS.get(proposal, proposal)
