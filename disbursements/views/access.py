"""Who reaches which funding page: the permissions the screens check before anything else
(the services check them again, with separation of duties)."""

AUTHORIZE = "disbursements.authorize_disbursement"
RELEASE = "disbursements.release_disbursement"
REQUEST = "disbursements.request_disbursement"
DECOMMIT = "disbursements.decommit_project"
VIEW = "disbursements.view_disbursement"
# Everyone who takes a purchase order's steps reads orders, not necessarily money.
VIEW_ORDERS = "disbursements.view_purchaseorder"
VIEW_SUPPLIERS = "disbursements.view_supplier"
ADD_SUPPLIER = "disbursements.add_supplier"
PLAN = "disbursements.plan_equipment"
PREPARE = "disbursements.prepare_purchaseorder"
# Auditors are told apart from other readers by their verification duty.
AUDIT = "ledger.verify_ledger"


def can_use_inbox(user) -> bool:
    return user.has_perm(REQUEST) or user.has_perm(AUTHORIZE) or user.has_perm(RELEASE)


def can_export_payments(user) -> bool:
    return any(user.has_perm(p) for p in (REQUEST, AUTHORIZE, RELEASE, AUDIT))


def can_enter_funding(user) -> bool:
    """The funding application opens to money readers and to whoever takes an order's steps
    (mentors deliver and sign, association agents witness); each page checks its own."""
    return user.has_perm(VIEW) or user.has_perm(VIEW_ORDERS)
