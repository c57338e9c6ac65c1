"""What the ledger's verifiers rebuild of a follow-up visit's row from its chain
(``ledger.machines.Fold``), registered in ``FollowupConfig.ready``: the visit as the
plan made it (``followup.services.create_followup_plan``) and, once reported, its
mentor — the one who reported it. A planned visit's mentor is left out: it moves with
the project's mentor without an entry (``followup.services.project_assign_mentor``)."""

from ledger.machines import Fold, actor, payload

VISIT = (
    Fold("project", {"create": payload("project")}),
    Fold("sequence", {"create": payload("sequence")}),
    Fold("offset_months", {"create": payload("months")}),
    Fold("due_on", {"create": payload("due_on")}),
    Fold("mentor", {"report_visit": actor()}),
)
