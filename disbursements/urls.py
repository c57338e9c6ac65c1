"""The funding application of the viewflow site (mounted at ``/funding/``)."""

from django.urls import path
from django.utils.translation import gettext_lazy as _
from viewflow.urls import Application

from disbursements import views


class FundingApp(Application):
    app_name = "funding"
    title = _("Funding")
    icon = "payments"
    menu_template_name = "disbursements/funding_menu.html"

    # Authorizing officers and treasurers: what waits for them.
    index_path = path("", views.FinanceInboxView.as_view(), name="index")
    authorize_path = path("disbursements/<int:pk>/authorize/", views.AuthorizeView.as_view(), name="authorize")
    reject_path = path("disbursements/<int:pk>/reject/", views.RejectView.as_view(), name="reject")
    release_path = path("disbursements/<int:pk>/release/", views.ReleaseView.as_view(), name="release")
    cancel_path = path("disbursements/<int:pk>/cancel/", views.DisbursementCancelView.as_view(),
                       name="disbursement_cancel")
    # Everyone who reads funding: a project's plan, orders, tranches and balance.
    project_path = path("projects/<int:pk>/", views.ProjectFundingView.as_view(), name="project")
    decommit_path = path("projects/<int:pk>/give-back/", views.DecommitView.as_view(), name="decommit")
    plan_path = path("projects/<int:pk>/equipment/", views.EquipmentPlanView.as_view(), name="plan")
    orders_path = path("projects/<int:pk>/orders/", views.ProjectOrdersView.as_view(), name="orders")
    order_create_path = path("projects/<int:pk>/orders/new/", views.PurchaseOrderCreateView.as_view(),
                             name="order_create")
    confirm_equipment_path = path("projects/<int:pk>/confirm-equipment/", views.ConfirmEquipmentView.as_view(),
                                  name="confirm_equipment")
    # One purchase order's steps, from its quotes to its reception.
    quote_add_path = path("orders/<int:pk>/quotes/new/", views.QuoteAddView.as_view(), name="quote_add")
    order_choose_path = path("orders/<int:pk>/choose/", views.ChooseQuoteView.as_view(), name="order_choose")
    order_issue_path = path("orders/<int:pk>/issue/", views.IssueView.as_view(), name="order_issue")
    order_deliver_path = path("orders/<int:pk>/deliver/", views.DeliverView.as_view(), name="order_deliver")
    receipt_scan_path = path("orders/<int:pk>/receipt/scan/", views.ReceiptScanView.as_view(), name="receipt_scan")
    receipt_confirm_path = path("orders/<int:pk>/receipt/mentor/", views.ReceiptConfirmView.as_view(),
                                name="receipt_confirm")
    receipt_witness_path = path("orders/<int:pk>/receipt/witness/", views.ReceiptWitnessView.as_view(),
                                name="receipt_witness")
    order_receive_path = path("orders/<int:pk>/receive/", views.ReceiveView.as_view(), name="order_receive")
    # Suppliers.
    suppliers_path = path("suppliers/", views.SupplierListView.as_view(), name="suppliers")
    supplier_create_path = path("suppliers/new/", views.SupplierCreateView.as_view(), name="supplier_create")
    # Accounting.
    payments_path = path("payments.csv", views.PaymentsCsvView.as_view(), name="payments")

    def has_view_permission(self, user, obj=None):
        # Anonymous requests go on to the site's login wall rather than a 403.
        return not user.is_authenticated or views.can_enter_funding(user)
