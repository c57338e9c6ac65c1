"""What the ledger's verifiers rebuild of workflow's audited rows from their chains
(``ledger.machines.Fold``), registered in ``WorkflowConfig.ready``.

Each field below is written only by the services listed, in the transaction that
records the transition, with the value the entry carries; a field changed in the
database without an entry no longer matches its chain. Left out: what the chain does
not determine — the texts (kept in the file, off the ledger), the beneficiary (a salted
hash), the sector (a code editable in the admin), the mentor (assigned without an
entry, ``followup.services.project_assign_mentor``) and the times.
"""

from ledger.machines import Fold, actor, const, payload, source_state
from workflow.models.program import SETTING_FIELDS

PROJECT = (
    # project_create; project_update ("edit") lists only the amounts it changed.
    Fold("requested_amount", {"create": payload("requested_amount"),
                              "edit": payload("requested_amount", keep=True)}),
    Fold("own_contribution", {"create": payload("own_contribution"),
                              "edit": payload("own_contribution", keep=True)}),
    # The committee's decision, applied by project_decide when the session closes.
    Fold("approved_amount", {"create": const(None), "decide_approve": payload("amount")}),
    Fold("decision_conditions", {"create": const(""), "decide_approve": payload("conditions")}),
    # By its code, signed in the create entry (a program's code never changes).
    Fold("program", {"create": payload("program")}, lookup="program__code"),
    Fold("created_by", {"create": actor()}),
    # workflow.services.project_assign_agent; none until a first reassignment.
    Fold("assigned_agent", {"create": const(None), "assign_agent": payload("agent")}),
    Fold("submitted_by", {"create": const(None), "submit": actor(), "resubmit": actor()}),
    Fold("eligibility_failures", {"create": const([]), "screen_ok": payload("failed_rules"),
                                  "screen_fail": payload("failed_rules")}),
    Fold("state_before_suspension", {"create": const(""), "suspend": source_state(), "resume": const("")}),
    # followup.services.project_close.
    Fold("outcome", {"create": const(""), "close": payload("outcome")}),
    Fold("closure_reason", {"create": const(""), "close": payload("reason")}),
)

# workflow.services.programs: the create entry holds every setting; "configure" lists
# each changed one with its value before and after (a change another app records,
# such as notifications' time limits, names no setting).
PROGRAM = (
    Fold("code", {"create": payload("code")}),
    *(Fold(name, {"create": payload("settings", name), "configure": payload("changes", name, "after", keep=True)})
      for name in SETTING_FIELDS),
)
