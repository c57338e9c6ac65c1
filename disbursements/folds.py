"""What the ledger's verifiers rebuild of purchase orders and disbursements from their
chains (``ledger.machines.Fold``), registered in ``DisbursementsConfig.ready``.

The amounts, what they are for, and the person who took each step — the three
distinct people of a disbursement (requester, authorizer, treasurer), the payment
reference — are set only by the services of ``disbursements.services``, each with the
transition whose entry carries them.
"""

from ledger.machines import Fold, actor, const, payload

PURCHASE_ORDER = (
    # purchase_order_create.
    Fold("project", {"create": payload("project")}),
    Fold("description", {"create": payload("description")}),
    Fold("created_by", {"create": actor()}),
    # purchase_order_choose_quote (a draft's choice may be made again).
    Fold("amount", {"create": const(None), "choose_quote": payload("amount")}),
    Fold("supplier", {"create": const(None), "choose_quote": payload("supplier")}),
    Fold("chosen_quote", {"create": const(None), "choose_quote": payload("quote")}),
    Fold("choice_reason", {"create": const(""), "choose_quote": payload("reason")}),
    Fold("quote_justification", {"create": const(""), "choose_quote": payload("justification")}),
    Fold("issued_by", {"create": const(None), "issue": actor()}),
    Fold("delivered_by", {"create": const(None), "deliver": actor()}),
    Fold("received_by", {"create": const(None), "receive": actor()}),
)

DISBURSEMENT = (
    # disbursement_request.
    Fold("amount", {"create": payload("amount")}),
    Fold("project", {"create": payload("project")}),
    Fold("purchase_order", {"create": payload("purchase_order")}),
    Fold("purpose", {"create": payload("purpose")}),
    Fold("requested_by", {"create": actor()}),
    Fold("authorized_by", {"create": const(None), "authorize": actor()}),
    Fold("released_by", {"create": const(None), "release": actor()}),
    Fold("payment_reference", {"create": const(""), "release": payload("payment_reference")}),
    Fold("release_key", {"create": const(None), "release": payload("idempotency_key")}),
    Fold("closed_by", {"create": const(None), "reject": actor(), "cancel": actor()}),
    Fold("closing_reason", {"create": const(""), "reject": payload("reason"), "cancel": payload("reason")}),
)
