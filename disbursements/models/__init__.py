"""Funding models: the envelope ledger, equipment procurement, disbursements."""

from disbursements.models.disbursement import Disbursement, DisbursementState
from disbursements.models.envelope import EnvelopeBalance, EnvelopeEvent, EnvelopeTotals
from disbursements.models.procurement import (
    EquipmentItem,
    OrderState,
    PurchaseOrder,
    Quote,
    ReceiptReport,
    Supplier,
)

__all__ = [
    "Disbursement", "DisbursementState", "EnvelopeBalance", "EnvelopeEvent", "EnvelopeTotals", "EquipmentItem",
    "OrderState", "PurchaseOrder", "Quote", "ReceiptReport", "Supplier",
]
