"""The funding screens.

Thin views: a form is parsed, one ``disbursements.services`` function is called, and a
coded error goes back on the form (``core.forms.add_service_error``), never a 500.
These pages only decide what to show; the services check every rule again
(permissions, separation of duties, budgets, step-up, idempotency).

- ``inbox``: the finance tray and its authorize / reject / release endpoints;
- ``project``: a project's funding page (requesting a tranche, giving a commitment back);
- ``export``: the payments CSV.
"""

from disbursements.views.access import (
    AUDIT,
    AUTHORIZE,
    DECOMMIT,
    RELEASE,
    REQUEST,
    VIEW,
    can_export_payments,
    can_use_inbox,
)
from disbursements.views.export import PaymentsCsvView
from disbursements.views.inbox import AuthorizeView, FinanceInboxView, RejectView, ReleaseView
from disbursements.views.project import DecommitView, ProjectFundingView

__all__ = [
    "AUDIT", "AUTHORIZE", "DECOMMIT", "RELEASE", "REQUEST", "VIEW",
    "AuthorizeView", "DecommitView", "FinanceInboxView", "PaymentsCsvView", "ProjectFundingView", "RejectView",
    "ReleaseView", "can_export_payments", "can_use_inbox",
]
