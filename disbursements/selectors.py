"""Reads of funding: envelope totals and room, the finance inbox, a project's funding
summary, the payments export. Nothing here writes.

Money totals are derived from the envelope events (the ledger): a program's are the
running totals its events keep (``EnvelopeBalance``, one row), a project's the sum of its
few events. Services call the totals functions under their row locks, so what they read cannot move before
they decide: the room an approval needs (``envelope_room``, the fact handed to
``decide_approve``) is computed under the program row lock of the session's close.
"""

import csv
import re
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import DecimalField, Exists, OuterRef, Prefetch, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from disbursements.models import (
    Disbursement,
    DisbursementState,
    EnvelopeBalance,
    EnvelopeEvent,
    EnvelopeTotals,
    EquipmentItem,
    OrderState,
    PurchaseOrder,
    Quote,
    ReceiptReport,
    Supplier,
)
from workflow.facts import EnvelopeRoom, EquipmentReceipt
from workflow.models import GrantProject, Program, ProjectState

ZERO = Decimal("0.00")
CENTS = Decimal("0.01")
# Orders that spend the project's money: issued or further.
SPENDING_ORDER_STATES = (OrderState.ISSUED, OrderState.DELIVERED, OrderState.RECEIVED)


# --- The envelope ledger ------------------------------------------------------------------


def program_envelope_totals(program) -> EnvelopeTotals:
    """The program's envelope, committed (commit − decommit events) and released: its
    running totals, one row (none before the program's first event)."""
    kept = EnvelopeBalance.objects.filter(program_id=program.pk).values_list("committed", "released").first()
    committed, released = kept or (ZERO, ZERO)
    return EnvelopeTotals(envelope=program.envelope, committed=committed, released=released)


@dataclass(frozen=True)
class BalanceCheck:
    """One program's kept totals beside the sums of its events."""

    program_id: int
    program_code: str
    kept: tuple[Decimal, Decimal, int]
    summed: tuple[Decimal, Decimal, int]
    envelope: Decimal | None = None

    @property
    def matches(self) -> bool:
        return self.kept == self.summed

    @property
    def over_envelope(self) -> bool:
        """The events commit more than the program's envelope (an invariant broken)."""
        return self.envelope is not None and self.summed[0] > self.envelope


def envelope_balance_checks():
    """Every program's kept totals (committed, released, events) and the same figures
    summed from its events: three queries whatever the number of programs."""
    kept = {row[0]: row[1:] for row in EnvelopeBalance.objects.values_list("program_id", "committed", "released",
                                                                             "events")}
    summed = EnvelopeEvent.objects.sums_by_program()
    for program_id, code, envelope in Program.objects.order_by("pk").values_list("pk", "code", "envelope").iterator():
        yield BalanceCheck(program_id=program_id, program_code=code, envelope=envelope,
                           kept=_in_cents(kept.get(program_id)), summed=_in_cents(summed.get(program_id)))


def _in_cents(totals) -> tuple[Decimal, Decimal, int]:
    """(committed, released, events), amounts to the cent (SQLite's sums lose the scale)."""
    committed, released, events = totals or (ZERO, ZERO, 0)
    return Decimal(committed).quantize(CENTS), Decimal(released).quantize(CENTS), events


def committed_amount(program) -> Decimal:
    """What the program's envelope ledger holds committed: commitments (made at approval)
    less decommitments (what a withdrawn project gives back). Money already released to
    a project that stopped stays spent; a suspended approval stays committed."""
    return program_envelope_totals(program).committed


def free_balance(program) -> Decimal:
    """The program's envelope less what it holds committed."""
    return program_envelope_totals(program).free


def envelope_room(program) -> EnvelopeRoom:
    """What ``program``'s envelope can still commit, for the guard of ``decide_approve``
    (``workflow.facts.EnvelopeRoom``). The caller holds the program row lock (and passes
    the program it locked, whose envelope is current), so no other approval or
    decommitment moves the balance before the commitment; called again for each file a
    close approves, it counts the commitments the close has made so far."""
    return EnvelopeRoom(program_id=program.pk, free=free_balance(program))


def project_envelope_totals(project) -> EnvelopeTotals:
    """One project's share: ``envelope`` is its approved amount."""
    committed, released = EnvelopeEvent.objects.filter(project_id=project.pk).sums()
    return EnvelopeTotals(envelope=project.approved_amount, committed=committed, released=released)


def order_released(order) -> Decimal:
    return (
        EnvelopeEvent.objects.filter(kind=EnvelopeEvent.Kind.RELEASE, disbursement__purchase_order_id=order.pk)
        .aggregate(total=Sum("amount"))["total"] or ZERO
    )


def orders_total(project, *, exclude_order_id=None) -> Decimal:
    """What the project's issued (or further) orders spend."""
    orders = PurchaseOrder.objects.filter(project_id=project.pk, state__in=SPENDING_ORDER_STATES)
    if exclude_order_id is not None:
        orders = orders.exclude(pk=exclude_order_id)
    return orders.aggregate(total=Sum("amount"))["total"] or ZERO


# --- Purchase orders ----------------------------------------------------------------------


def orders_not_received(project) -> list[PurchaseOrder]:
    """The project's orders that are not received with a signed receipt report."""
    pending = []
    receipts = {r.order_id: r for r in ReceiptReport.objects.filter(order__project_id=project.pk)}
    for order in PurchaseOrder.objects.filter(project_id=project.pk).order_by("pk"):
        receipt = receipts.get(order.pk)
        if order.state != OrderState.RECEIVED or receipt is None or not receipt.is_signed:
            pending.append(order)
    return pending


def all_orders_received(project) -> bool:
    """At least one order, and every order received with a signed receipt report."""
    return PurchaseOrder.objects.filter(project_id=project.pk).exists() and not orders_not_received(project)


def equipment_receipt(project) -> EquipmentReceipt:
    """What the guard of ``equipment_received`` reads: the project has purchase orders
    and every one is received with a signed receipt report (procès-verbal de
    réception); when not, which orders hold it back."""
    pending = orders_not_received(project)
    if pending:
        names = ", ".join(f"{order.reference} ({order.get_state_display()})" for order in pending)
        detail = _("Purchase orders not received with a signed receipt report: %(list)s.") % {"list": names}
        return EquipmentReceipt(project_id=project.pk, all_received=False, pending=detail)
    if not PurchaseOrder.objects.filter(project_id=project.pk).exists():
        return EquipmentReceipt(project_id=project.pk, all_received=False,
                                pending=_("The project has no purchase order yet."))
    return EquipmentReceipt(project_id=project.pk, all_received=True)


def project_orders(project) -> list[PurchaseOrder]:
    """The project's orders, oldest first, with their supplier, chosen quote and quotes
    (``order.quotes.all()``, each with its supplier) read in three queries."""
    return list(
        PurchaseOrder.objects.filter(project_id=project.pk).select_related("supplier", "chosen_quote")
        .prefetch_related(Prefetch("quotes", Quote.objects.select_related("supplier")))
        .order_by("pk")
    )


def purchase_order(order_id) -> PurchaseOrder | None:
    """One order with its project (program, beneficiary, mentor) and its supplier."""
    return (
        PurchaseOrder.objects.select_related(
            "project", "project__program", "project__beneficiary", "project__mentor", "supplier")
        .filter(pk=order_id).first()
    )


def disbursement(disbursement_id) -> Disbursement | None:
    """One disbursement with its project, its order and who took its steps."""
    return (
        Disbursement.objects.select_related(
            "project", "project__program", "project__beneficiary", "purchase_order", "requested_by", "authorized_by")
        .filter(pk=disbursement_id).first()
    )


def receipts_by_order(orders) -> dict:
    """``{order id: ReceiptReport}`` of ``orders`` that have one."""
    return {r.order_id: r for r in ReceiptReport.objects.filter(order__in=[o.pk for o in orders])
            .select_related("mentor", "beneficiary_witness")}


def suppliers(search: str = "") -> QuerySet[Supplier]:
    """Suppliers by name; ``search`` keeps those whose name, ICE or city holds each word."""
    found = Supplier.objects.order_by("name", "pk")
    for term in (search or "").split():
        found = found.filter(Q(name__icontains=term) | Q(ice__icontains=term) | Q(city__icontains=term))
    return found


def suppliers_to_quote(order) -> QuerySet[Supplier]:
    """The suppliers that have not quoted for ``order`` yet (one quote per supplier)."""
    return Supplier.objects.exclude(quotes__order_id=order.pk).order_by("name", "pk")


# --- Finance inbox ------------------------------------------------------------------------


@dataclass
class FinanceInbox:
    to_authorize: QuerySet[Disbursement]
    to_release: QuerySet[Disbursement]
    # The maker's side (finance officers): projects whose equipment is being funded, and
    # the user's own requests still waiting for authorization or release.
    to_prepare: QuerySet = None
    my_requests: QuerySet[Disbursement] = None
    # Withdrawn projects whose unreleased commitment can go back to the envelope.
    to_give_back: QuerySet = None


def _tasked(user, node_name, state) -> QuerySet[Disbursement]:
    """The disbursements whose open ``node_name`` step is in ``user``'s inbox (the tray is
    a view of the same tasks: separation of duties and assignment included)."""
    from disbursements.flows import DisbursementFlow
    from workflow.inbox import inbox_segments

    # Assigned to me, then claimable by my roles: one subquery each, united (no OR).
    mine, claimable = (segment.filter(flow_task=getattr(DisbursementFlow, node_name)).order_by()
                       .values("process__artifact_object_id")
                       for segment in inbox_segments(user))
    return _open_disbursements(state).filter(pk__in=mine.union(claimable))


def _open_disbursements(state) -> QuerySet[Disbursement]:
    return (
        Disbursement.objects.filter(state=state)
        .select_related("project", "project__program", "project__beneficiary", "purchase_order",
                        "requested_by", "authorized_by")
        .order_by("requested_at", "pk")
    )


_COMPUTED_REFERENCE = re.compile(r"^(?P<kind>DB|BC|AGR)-(?:\d{4}-)?(?P<number>\d{1,9})$", re.IGNORECASE)


def _filtered(queryset, search: str, program_id) -> QuerySet[Disbursement]:
    if program_id:
        queryset = queryset.filter(project__program_id=program_id)
    for term in (search or "").split():
        # Disbursement (DB-…) and order (BC-…) references are derived from the id.
        computed = _COMPUTED_REFERENCE.match(term)
        by_reference = Q(pk__in=[])
        if computed:
            field = {"DB": "pk", "BC": "purchase_order_id", "AGR": "project_id"}[computed["kind"].upper()]
            by_reference = Q(**{field: int(computed["number"])})
        queryset = queryset.filter(
            by_reference | Q(project__title__icontains=term)
            | Q(project__beneficiary__first_name__icontains=term)
            | Q(project__beneficiary__last_name__icontains=term)
            | Q(project__beneficiary__first_name_ar__icontains=term)
            | Q(project__beneficiary__last_name_ar__icontains=term)
        )
    return queryset


def finance_inbox(user, *, search: str = "", program_id=None) -> FinanceInbox:
    """What ``user`` may act on next: requests to authorize (authorizing officers) and
    authorized tranches to release (treasurers) — their open tasks in ``user``'s inbox,
    so never a step separation of duties would refuse them (a request they made, a
    tranche they authorized). ``search``
    matches references, the project's title and the beneficiary's names, each word;
    ``program_id`` keeps one program's."""
    none = Disbursement.objects.none()
    to_authorize, to_release = none, none
    if user.has_perm("disbursements.authorize_disbursement"):
        to_authorize = _filtered(_tasked(user, "authorization", DisbursementState.REQUESTED), search, program_id)
    if user.has_perm("disbursements.release_disbursement"):
        to_release = _filtered(_tasked(user, "release", DisbursementState.AUTHORIZED), search, program_id)
    to_prepare, my_requests = GrantProject.objects.none(), none
    if user.has_perm("disbursements.request_disbursement"):
        to_prepare = _projects_in_funding(search, program_id)
        my_requests = _filtered(
            Disbursement.objects.filter(
                requested_by=user, state__in=[DisbursementState.REQUESTED, DisbursementState.AUTHORIZED])
            .select_related("project", "project__program", "project__beneficiary", "purchase_order",
                            "requested_by", "authorized_by")
            .order_by("requested_at", "pk"),
            search, program_id,
        )
    to_give_back = GrantProject.objects.none()
    if user.has_perm("disbursements.decommit_project"):
        to_give_back = withdrawn_commitments(search, program_id)
    return FinanceInbox(to_authorize=to_authorize, to_release=to_release, to_prepare=to_prepare,
                        my_requests=my_requests, to_give_back=to_give_back)


def _event_sum(kind):
    return Coalesce(
        Subquery(
            EnvelopeEvent.objects.filter(project_id=OuterRef("pk"), kind=kind)
            .values("project_id").annotate(total=Sum("amount")).values("total")
        ),
        Value(ZERO), output_field=DecimalField(max_digits=12, decimal_places=2),
    )


def withdrawn_commitments(search: str = "", program_id=None):
    """Withdrawn projects still holding money on their program's envelope: committed
    (commitment − decommitment) above what was released, each annotated with
    ``to_give_back``."""
    kind = EnvelopeEvent.Kind
    events = EnvelopeEvent.objects.filter(project_id=OuterRef("pk"))
    projects = (
        # A project gives back at most once, the whole remainder (``envelope.decommit``):
        # only withdrawn files with a commitment and no decommitment yet can hold money,
        # found by two probes of the (project, kind) index before any sum is taken, so the
        # files given back long ago cost no more than that.
        GrantProject.objects.filter(state=ProjectState.WITHDRAWN)
        .filter(Exists(events.filter(kind=kind.COMMIT)), ~Exists(events.filter(kind=kind.DECOMMIT)))
        .annotate(to_give_back=_event_sum(kind.COMMIT) - _event_sum(kind.DECOMMIT) - _event_sum(kind.RELEASE))
        .filter(to_give_back__gt=0)
        .select_related("program", "beneficiary")
        .order_by("updated_at", "pk")
    )
    return _search_projects(projects, search, program_id)


def _projects_in_funding(search: str, program_id):
    projects = (
        GrantProject.objects.filter(state=ProjectState.FUNDING)
        .select_related("program", "beneficiary")
        .order_by("submitted_at", "pk")
    )
    return _search_projects(projects, search, program_id)


def _search_projects(projects, search: str, program_id):
    if program_id:
        projects = projects.filter(program_id=program_id)
    for term in (search or "").split():
        computed = _COMPUTED_REFERENCE.match(term)
        by_reference = Q(pk=int(computed["number"])) if computed and computed["kind"].upper() == "AGR" else Q(pk__in=[])
        projects = projects.filter(
            by_reference | Q(title__icontains=term) | Q(beneficiary__first_name__icontains=term)
            | Q(beneficiary__last_name__icontains=term) | Q(beneficiary__first_name_ar__icontains=term)
            | Q(beneficiary__last_name_ar__icontains=term)
        )
    return projects


# --- A project's funding page -------------------------------------------------------------


@dataclass
class FundingSummary:
    project: object
    plan: list[EquipmentItem]
    plan_total: Decimal
    orders: list[PurchaseOrder]
    ordered: Decimal
    disbursements: list[Disbursement]
    approved: Decimal
    committed: Decimal
    released: Decimal
    pending: Decimal  # requested or authorized, not yet released
    orders_not_received: list[PurchaseOrder] = field(default_factory=list)

    @property
    def balance(self) -> Decimal:
        """What can still be released on the project."""
        return self.approved - self.released

    @property
    def unordered(self) -> Decimal:
        return self.approved - self.ordered


def equipment_plan(project) -> tuple[list[EquipmentItem], Decimal]:
    """The lines of the project's equipment plan, in the order they were added, and their total."""
    plan = list(EquipmentItem.objects.filter(project_id=project.pk).order_by("pk"))
    return plan, sum((item.total for item in plan), ZERO)


def project_funding_summary(project) -> FundingSummary:
    """Plan, quotes, orders, disbursements and balances of one project (quotes are
    prefetched on each order as ``order.quotes.all()``)."""
    plan, plan_total = equipment_plan(project)
    orders = project_orders(project)
    disbursements = list(
        Disbursement.objects.filter(project_id=project.pk).select_related(
            "purchase_order", "requested_by", "authorized_by", "released_by").order_by("pk")
    )
    totals = project_envelope_totals(project)
    pending = sum(
        (d.amount for d in disbursements if d.state in (DisbursementState.REQUESTED, DisbursementState.AUTHORIZED)),
        ZERO,
    )
    return FundingSummary(
        project=project, plan=plan, plan_total=plan_total,
        orders=orders, ordered=orders_total(project), disbursements=disbursements,
        approved=project.approved_amount or ZERO, committed=totals.committed, released=totals.released,
        pending=pending, orders_not_received=orders_not_received(project),
    )


# --- Accounting export --------------------------------------------------------------------

PAYMENTS_CSV_HEADER = [
    "reference", "project", "beneficiary", "amount", "payment_reference", "released_at", "released_by",
]


def _cell(value) -> str:
    # A spreadsheet would run a cell starting with one of these as a formula.
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def released_payments(program) -> QuerySet[Disbursement]:
    return (
        Disbursement.objects.filter(project__program_id=program.pk, state=DisbursementState.RELEASED)
        .select_related("project", "project__program", "project__beneficiary", "released_by")
        .order_by("released_at", "pk")
    )


spreadsheet_cell = _cell


def payment_rows(program):
    """The rows of the payments export, in ``PAYMENTS_CSV_HEADER`` order, spreadsheet-safe:
    reference, project, beneficiary, amount (plain decimal, MAD), payment reference,
    released at (ISO 8601, local time), released by (username). Iterated in chunks."""
    for payment in released_payments(program).iterator(chunk_size=500):
        beneficiary = payment.project.beneficiary
        yield [_cell(v) for v in (
            payment.reference, payment.project.reference, f"{beneficiary.first_name} {beneficiary.last_name}",
            format(payment.amount, "f"), payment.payment_reference,
            timezone.localtime(payment.released_at).isoformat(timespec="seconds"),
            payment.released_by.get_username(),
        )]


class _Line:
    """csv.writer's file: ``write`` hands back the line it was given, so rows can be
    yielded one at a time instead of gathered in a buffer."""

    def write(self, value):
        return value


def payments_csv_lines(program):
    """``payments_csv`` one line at a time (header first), read from the database in
    chunks: a national program's payments are streamed, never held in memory."""
    writer = csv.writer(_Line(), lineterminator="\r\n")
    yield writer.writerow(PAYMENTS_CSV_HEADER)
    for row in payment_rows(program):
        yield writer.writerow(row)


def payments_csv(program) -> str:
    """Every released disbursement of ``program``, oldest first, as CSV for accounting
    (``payment_rows`` under the stable ``PAYMENTS_CSV_HEADER`` keys)."""
    return "".join(payments_csv_lines(program))
