"""What the ledger's verifiers rebuild of a committee session's row from its chain
(``ledger.machines.Fold``), registered in ``ApprovalsConfig.ready``: what
``approvals.services.session_create`` signs in the create entry, and who planned it.
Its agenda, votes and decisions are rows of their own, each recorded on the chain."""

from ledger.machines import Fold, actor, payload

SESSION = (
    Fold("committee", {"create": payload("committee")}),
    Fold("title", {"create": payload("title")}),
    Fold("scheduled_for", {"create": payload("scheduled_for")}),
    Fold("created_by", {"create": actor()}),
)
