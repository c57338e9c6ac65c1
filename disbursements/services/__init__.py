"""Every write of funding. Each public function is one durable transaction."""

from disbursements.services.disbursements import (
    disbursement_authorize,
    disbursement_cancel,
    disbursement_reject,
    disbursement_release,
    disbursement_request,
)
from disbursements.services.envelope import commit_for_project, envelope_decommit
from disbursements.services.procurement import (
    equipment_item_add,
    project_confirm_equipment,
    purchase_order_choose_quote,
    purchase_order_create,
    purchase_order_deliver,
    purchase_order_issue,
    purchase_order_receive,
    quote_add,
    receipt_attach_scan,
    receipt_confirm_mentor,
    receipt_witness_beneficiary,
    supplier_create,
)

__all__ = [
    "commit_for_project", "disbursement_authorize", "disbursement_cancel", "disbursement_reject",
    "disbursement_release", "disbursement_request", "envelope_decommit", "equipment_item_add",
    "project_confirm_equipment", "purchase_order_choose_quote", "purchase_order_create", "purchase_order_deliver", "purchase_order_issue",
    "purchase_order_receive", "quote_add", "receipt_attach_scan", "receipt_confirm_mentor",
    "receipt_witness_beneficiary", "supplier_create",
]
