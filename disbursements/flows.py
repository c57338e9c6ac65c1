"""The people's work on money and equipment (docs/workflow.md).

``DisbursementFlow`` runs one tranche: a finance officer requests it, an authorizing
officer authorizes (or rejects) it, a treasurer releases it — three different people.
The inbox never offers a step to someone its rule excludes (``Exclude`` and
``inbox_exclusion``); the service refuses them (``separation_of_duties``) and the
database constraints on ``Disbursement`` are the backstop.

``PurchaseOrderFlow`` runs one order: quotes and the choice, issue, delivery, the
receipt report (the mentor's signature and the beneficiary's, witnessed by the
association agent — or the scan of the paper report, which stands for both), and the
reception. The grant file's flow waits for its orders: the first issued order ends
the finance officer's "plan and order" step, the last one received opens the
program officer's equipment check.

Steps are completed by the transitions they wait for, in the same transaction
(``workflow.engine``).
"""

from urllib.parse import urlencode

from django.db.models import Q
from django.dispatch import receiver
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from viewflow import this
from viewflow.workflow import flow, lock

from core.bidi import isolate_text
from core.money import format_mad
from disbursements.models import Disbursement, DisbursementState, OrderState, PurchaseOrder
from ledger.signals import transition_applied
from workflow import engine
from workflow.engine import Step, on_artifact
from workflow.flows import GrantFlow


def _orders_page(task):
    return reverse("funding:orders", args=[task.process.data["project_id"]])


def _funding_tray(task):
    """The finance tray, on this disbursement (its authorize and release forms)."""
    return f"{reverse('funding:index')}?{urlencode({'q': task.process.data['reference']})}"


def _authorized(activation):
    previous = activation.task.previous.order_by("-pk").first()
    return bool(previous and (previous.data or {}).get("state") == DisbursementState.AUTHORIZED)


@engine.register_flow
class DisbursementFlow(flow.Flow):
    """Disbursement

    One tranche of a file's grant: requested by a finance officer, authorized by an
    authorizing officer who did not request it, released by a treasurer who did
    neither.
    """

    process_title = _("Disbursement")
    lock_impl = lock.select_for_update_lock
    process_summary_template = "{{ process.data.reference }}"

    artifact_model = Disbursement
    STARTED_BY = ("create",)
    ABORTED_BY = ("cancel",)

    start = flow.StartHandle(engine.start_process).Next(this.authorization)
    authorization = (
        Step(screen=_funding_tray, done_by=("authorize", "reject"))
        .Annotation(title=_("Authorize the disbursement"), summary_template="{{ process.data.reference }}")
        .Permission("disbursements.authorize_disbursement")
        .Exclude(lambda process: _people(process, "requested_by_id"))
        .Next(this.authorization_outcome)
    )
    authorization_outcome = (
        flow.If(_authorized)
        .Annotation(title=_("Authorized?"))
        .Then(this.release)
        .Else(this.end_rejected)
    )
    release = (
        Step(screen=_funding_tray, done_by=("release",))
        .Annotation(title=_("Release the payment"), summary_template="{{ process.data.reference }}")
        .Permission("disbursements.release_disbursement")
        .Exclude(lambda process: _people(process, "requested_by_id", "authorized_by_id"))
        .Next(this.end_released)
    )
    end_released = flow.End().Annotation(title=_("Released"))
    end_rejected = flow.End().Annotation(title=_("Rejected"))

    @staticmethod
    def process_data(disbursement):
        project = disbursement.project
        return {"reference": disbursement.reference, "project_id": project.pk, "program_id": project.program_id}

    @classmethod
    def inbox_exclusion(cls, user):
        requested = Disbursement.objects.filter(requested_by=user).values("pk")
        handled = Disbursement.objects.filter(Q(requested_by=user) | Q(authorized_by=user)).values("pk")
        return (Q(flow_task=cls.authorization, process__artifact_object_id__in=requested)
                | Q(flow_task=cls.release, process__artifact_object_id__in=handled))

    @staticmethod
    def describe_tasks(tasks):
        engine.describe_with(
            tasks, Disbursement, related=("project", "project__program"),
            subject=lambda d: f"{isolate_text(d.reference)} — {format_mad(d.amount)} — {d.project}",
            program=lambda d: d.project.program,
        )

    def has_view_permission(self, user, obj=None):
        return user.is_authenticated and user.has_perm("disbursements.view_disbursement")


def _people(process, *fields):
    values = Disbursement.objects.filter(pk=process.artifact_object_id).values_list(*fields).first() or ()
    return {value for value in values if value is not None}


@engine.register_flow
class PurchaseOrderFlow(flow.Flow):
    """Purchase order

    One order of a file's equipment: quotes and the choice, issue, delivery, the
    receipt report signed by the mentor and the beneficiary, and the reception.
    """

    process_title = _("Purchase order")
    lock_impl = lock.select_for_update_lock
    process_summary_template = "{{ process.data.reference }}"

    artifact_model = PurchaseOrder
    STARTED_BY = ("create",)
    ABORTED_BY = ()

    start = flow.StartHandle(engine.start_process).Next(this.quotes)
    quotes = (
        Step(screen=_orders_page, done_by=("choose_quote", "issue"))
        .Annotation(title=_("Collect quotes and choose one"), summary_template="{{ process.data.reference }}")
        .Permission("disbursements.prepare_purchaseorder")
        .Assign(this.order_creator)
        .Next(this.issue)
    )
    issue = (
        Step(screen=on_artifact("funding:order_issue"), done_by=("issue",))
        .Annotation(title=_("Issue the purchase order"), summary_template="{{ process.data.reference }}")
        .Permission("disbursements.issue_purchaseorder")
        .Next(this.delivery)
    )
    delivery = (
        Step(screen=on_artifact("funding:order_deliver"), done_by=("deliver",))
        .Annotation(title=_("Record the delivery"), summary_template="{{ process.data.reference }}")
        .Permission("disbursements.receive_purchaseorder")
        .Next(this.signatures)
    )
    signatures = flow.Split().Annotation(title=_("Receipt report")).Next(this.mentor_signature).Next(
        this.beneficiary_witness)
    mentor_signature = (
        Step(screen=on_artifact("funding:receipt_confirm"), done_by=("confirm_receipt", "attach_receipt_scan", "receive"))
        .Annotation(title=_("Sign the receipt report (mentor)"), summary_template="{{ process.data.reference }}")
        .Permission("disbursements.confirm_receipt")
        .Assign(this.files_mentor)
        .Next(this.signed)
    )
    beneficiary_witness = (
        Step(screen=on_artifact("funding:receipt_witness"), done_by=("witness_receipt", "attach_receipt_scan", "receive"))
        .Annotation(title=_("Witness the beneficiary's signature"), summary_template="{{ process.data.reference }}")
        .Permission("disbursements.witness_receipt")
        .Next(this.signed)
    )
    signed = flow.Join().Annotation(title=_("Receipt report signed")).Next(this.reception)
    reception = (
        Step(screen=on_artifact("funding:order_receive"), done_by=("receive",))
        .Annotation(title=_("Receive the equipment"), summary_template="{{ process.data.reference }}")
        .Permission("disbursements.receive_purchaseorder")
        .Next(this.end)
    )
    end = flow.End().Annotation(title=_("Received"))

    @staticmethod
    def process_data(order):
        project = order.project
        return {"reference": order.reference, "project_id": project.pk, "program_id": project.program_id}

    @staticmethod
    def describe_tasks(tasks):
        engine.describe_with(tasks, PurchaseOrder, related=("project", "project__program"),
                             subject=lambda order: f"{order} — {order.project}",
                             program=lambda order: order.project.program)

    def order_creator(self, activation):
        order = PurchaseOrder.objects.select_related("created_by").get(pk=activation.process.artifact_object_id)
        user = order.created_by
        return user if engine.holds(user, "disbursements.prepare_purchaseorder") else None

    def files_mentor(self, activation):
        order = PurchaseOrder.objects.select_related("project__mentor").get(pk=activation.process.artifact_object_id)
        mentor = order.project.mentor
        return mentor if engine.holds(mentor, "disbursements.confirm_receipt") else None

    def has_view_permission(self, user, obj=None):
        return user.is_authenticated and user.has_perm("disbursements.view_purchaseorder")


@receiver(transition_applied, sender=Disbursement, dispatch_uid="disbursements.flows.disbursement")
def _follow_disbursement(sender, instance, transition, actor, to_state, **kwargs):
    engine.follow(DisbursementFlow, instance, transition, actor, to_state)


@receiver(transition_applied, sender=PurchaseOrder, dispatch_uid="disbursements.flows.order")
def _follow_order(sender, instance, transition, actor, to_state, **kwargs):
    engine.follow(PurchaseOrderFlow, instance, transition, actor, to_state)
    # The file's flow waits for its orders.
    project = instance.project
    if transition == "issue":
        engine.follow(GrantFlow, project, "order_issued", actor, project.state)
    elif transition == "receive" and not project.purchase_orders.exclude(state=OrderState.RECEIVED).exists():
        engine.follow(GrantFlow, project, "orders_received", actor, project.state)
