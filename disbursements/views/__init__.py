"""The funding screens.

Thin views: a form is parsed, one ``disbursements.services`` function is called, and a
coded error goes back on the form's fields (``core.views.call_with_form``), never a 500.
Pages show what ``disbursements.actions`` says the user may do; the services check every
rule again (permissions, separation of duties, budgets, step-up, idempotency).

- ``inbox``: the finance tray and its authorize / reject / release endpoints;
- ``project``: a project's funding page, its purchase orders, its equipment plan, a new
  order, the confirmation that the equipment is received;
- ``orders``: the steps of one purchase order, from its quotes to its reception;
- ``suppliers``, ``tranches`` (cancelling a request), ``export`` (payments CSV).
"""

from disbursements.views.access import (
    AUDIT,
    AUTHORIZE,
    DECOMMIT,
    RELEASE,
    REQUEST,
    VIEW,
    can_enter_funding,
    can_export_payments,
    can_use_inbox,
)
from disbursements.views.export import PaymentsCsvView
from disbursements.views.inbox import AuthorizeView, FinanceInboxView, RejectView, ReleaseView
from disbursements.views.orders import (
    ChooseQuoteView,
    DeliverView,
    IssueView,
    QuoteAddView,
    ReceiptConfirmView,
    ReceiptScanView,
    ReceiptWitnessView,
    ReceiveView,
)
from disbursements.views.project import (
    ConfirmEquipmentView,
    DecommitView,
    EquipmentPlanView,
    ProjectFundingView,
    ProjectOrdersView,
    PurchaseOrderCreateView,
)
from disbursements.views.suppliers import SupplierCreateView, SupplierListView
from disbursements.views.tranches import DisbursementCancelView

__all__ = [
    "AUDIT", "AUTHORIZE", "DECOMMIT", "RELEASE", "REQUEST", "VIEW",
    "AuthorizeView", "ChooseQuoteView", "ConfirmEquipmentView", "DecommitView", "DeliverView",
    "DisbursementCancelView", "EquipmentPlanView", "FinanceInboxView", "IssueView", "PaymentsCsvView",
    "ProjectFundingView", "ProjectOrdersView", "PurchaseOrderCreateView", "QuoteAddView", "ReceiptConfirmView",
    "ReceiptScanView", "ReceiptWitnessView", "ReceiveView", "RejectView", "ReleaseView", "SupplierCreateView",
    "SupplierListView", "can_enter_funding", "can_export_payments", "can_use_inbox",
]
