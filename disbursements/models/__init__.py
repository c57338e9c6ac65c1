"""Funding models: the envelope ledger, equipment procurement, disbursements."""

from .disbursement import Disbursement, DisbursementState
from .envelope import EnvelopeEvent, EnvelopeTotals
from .procurement import EquipmentItem, OrderState, PurchaseOrder, Quote, ReceiptReport, Supplier

__all__ = [
    "Disbursement", "DisbursementState", "EnvelopeEvent", "EnvelopeTotals", "EquipmentItem",
    "OrderState", "PurchaseOrder", "Quote", "ReceiptReport", "Supplier",
]
