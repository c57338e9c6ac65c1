"""Equipment funding: the guard of ``equipment_received``.

Purchase orders live in ``disbursements``: the project is equipped when it has at least
one purchase order and every one of them is received with a signed receipt report
(procès-verbal de réception). Imports are local: ``disbursements`` builds on the
workflow models that import this module.
"""

from django.utils.translation import gettext as _


def all_orders_received(project) -> bool:
    """True when the project has purchase orders and every one is received with a
    signed receipt report."""
    from disbursements.selectors import all_orders_received as received

    return received(project)


def orders_not_received_detail(project) -> str:
    """Which orders hold the project back, for the guard's message."""
    from disbursements.selectors import orders_not_received

    pending = orders_not_received(project)
    if not pending and not project.purchase_orders.exists():
        return _("The project has no purchase order yet.")
    names = ", ".join(f"{order.reference} ({order.get_state_display()})" for order in pending)
    return _("Purchase orders not received with a signed receipt report: %(list)s.") % {"list": names}
