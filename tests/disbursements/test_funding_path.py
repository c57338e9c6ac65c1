"""The whole funding path, from an approved file to an equipped one, through the services
(DESIGN.md §3, DOMAIN.md): enrolment, training sign-off, funding opened, equipment plan,
three competing quotes, the choice, the purchase order issued → delivered → received with
its receipt report, a tranche requested → authorized → released, and the project
equipped. Every chain of the audit ledger it touched is asserted entry by entry.
"""

from decimal import Decimal

import pytest

from core.exceptions import TamkeenError
from core.roles import Role
from disbursements import selectors
from disbursements import services as funding
from disbursements.models import EnvelopeEvent
from ledger.models import AuditEntry
from training import services as training_services
from workflow import services

PASSWORD = "pass-Tamkeen-2025"


def chain(entity):
    return [
        (e.seq, e.transition, e.from_state, e.to_state, e.actor.username, e.actor_role)
        for e in AuditEntry.objects.for_entity(entity).select_related("actor").order_by("seq")
    ]


def test_from_approved_to_equipped_through_the_services(make_project, cast, make_user):
    authorizer = make_user(Role.AUTHORIZING_OFFICER, username="ordonnateur")
    treasurer = make_user(Role.TREASURER, username="comptable")
    project = make_project("approved", amount="55000.00")
    pid = project.pk

    # Committed at approval: one commit event, and both ways of counting agree.
    (commit,) = EnvelopeEvent.objects.filter(project=project)
    assert (commit.kind, commit.amount, commit.actor) == ("commit", Decimal("55000.00"), cast.chair)
    totals = selectors.program_envelope_totals(project.program)
    assert totals.committed == selectors.committed_amount(project.program) == Decimal("55000.00")

    services.project_enrol(project_id=pid, actor=cast.officer)
    training_services.project_complete_training(project_id=pid, actor=cast.officer)
    services.project_open_funding(project_id=pid, actor=cast.finance)

    # The equipment plan.
    funding.equipment_item_add(project_id=pid, actor=cast.finance, description="Machine à coudre industrielle",
                               quantity=2, unit_price="18000.00")
    funding.equipment_item_add(project_id=pid, actor=cast.officer, description="Surjeteuse", quantity="1",
                               unit_price="12500.50")

    # Three competing quotes, one chosen with its reason.
    suppliers = [funding.supplier_create(actor=cast.finance, name=name, ice=ice, city="Nador")
                 for name, ice in (("Atlas Couture", "001234567000089"), ("Rif Machines", ""), ("Oriental Pro", ""))]
    order = funding.purchase_order_create(project_id=pid, actor=cast.finance, description="Machines de couture")
    quotes = [
        funding.quote_add(order_id=order.pk, actor=cast.finance, supplier_id=s.pk, amount=amount,
                          document_sha256="ab" * 32 if n == 0 else "")
        for n, (s, amount) in enumerate(zip(suppliers, ("48500.50", "51200.00", "49990.00"), strict=True))
    ]
    funding.purchase_order_choose_quote(order_id=order.pk, actor=cast.finance, quote_id=quotes[0].pk,
                                        reason="Moins-disant, garantie de deux ans.")
    funding.purchase_order_issue(order_id=order.pk, actor=cast.finance)
    funding.purchase_order_deliver(order_id=order.pk, actor=cast.mentor, note="Livré à l'atelier.")

    # Not equipped yet: the order is delivered, not received.
    with pytest.raises(TamkeenError) as refused:
        funding.project_confirm_equipment(project_id=pid, actor=cast.officer)
    assert refused.value.code == "guard_failed"
    assert refused.value.params["failures"] == ["orders_not_received"]
    assert f"{order.reference} (delivered)" in refused.value.field_errors["__all__"][0]

    # The receipt report, signed in the application: the mentor, and the beneficiary
    # in front of the association agent as witness.
    funding.receipt_confirm_mentor(order_id=order.pk, actor=cast.mentor)
    funding.receipt_witness_beneficiary(order_id=order.pk, actor=cast.agent, statement="Matériel conforme.")
    funding.purchase_order_receive(order_id=order.pk, actor=cast.mentor)

    # A tranche paid to the supplier against the order.
    tranche = funding.disbursement_request(project_id=pid, actor=cast.finance, amount="48500.50",
                                           purchase_order_id=order.pk, purpose="Paiement fournisseur")
    funding.disbursement_authorize(disbursement_id=tranche.pk, actor=authorizer)
    funding.disbursement_release(disbursement_id=tranche.pk, actor=treasurer, password=PASSWORD,
                                 payment_reference="VIR-2025-0042", idempotency_key="release-0042")

    funding.project_confirm_equipment(project_id=pid, actor=cast.officer)

    # --- the audit ledger, chain by chain -----------------------------------------------
    assert chain(project) == [
        (1, "create", "", "draft", "agent", "association_agent"),
        *[(n, "attach_document", "draft", "draft", "agent", "association_agent") for n in (2, 3, 4)],
        (5, "submit", "draft", "submitted", "agent", "association_agent"),
        (6, "screen_ok", "submitted", "eligible", "officer", "program_officer"),
        (7, "schedule", "eligible", "in_committee", "officer", "program_officer"),
        (8, "decide_approve", "in_committee", "approved", "chair", "committee_chair"),
        (9, "enrol", "approved", "in_training", "officer", "program_officer"),
        (10, "complete_training", "in_training", "trained", "officer", "program_officer"),
        (11, "open_funding", "trained", "funding", "finance", "finance_officer"),
        (12, "equipment_received", "funding", "equipped", "officer", "program_officer"),
    ]
    assert chain(order) == [
        (1, "create", "", "draft", "finance", "finance_officer"),
        (2, "add_quote", "draft", "draft", "finance", "finance_officer"),
        (3, "add_quote", "draft", "draft", "finance", "finance_officer"),
        (4, "add_quote", "draft", "draft", "finance", "finance_officer"),
        (5, "choose_quote", "draft", "draft", "finance", "finance_officer"),
        (6, "issue", "draft", "issued", "finance", "finance_officer"),
        (7, "deliver", "issued", "delivered", "mentor", "mentor"),
        (8, "confirm_receipt", "delivered", "delivered", "mentor", "mentor"),
        (9, "witness_receipt", "delivered", "delivered", "agent", "association_agent"),
        (10, "receive", "delivered", "received", "mentor", "mentor"),
    ]
    assert chain(tranche) == [
        (1, "create", "", "requested", "finance", "finance_officer"),
        (2, "authorize", "requested", "authorized", "ordonnateur", "authorizing_officer"),
        (3, "release", "authorized", "released", "comptable", "treasurer"),
    ]
    entries = {e.transition: e.payload for e in AuditEntry.objects.for_entity(order)}
    assert entries["choose_quote"] == {
        "quote": quotes[0].pk, "supplier": suppliers[0].pk, "amount": "48500.50",
        "reason": "Moins-disant, garantie de deux ans.", "quotes": 3, "justification": "",
    }
    assert entries["receive"] == {"receipt": "in_app", "sha256": "", "mentor": cast.mentor.pk,
                                  "witness": cast.agent.pk}
    release = AuditEntry.objects.for_entity(tranche).get(transition="release").payload
    assert release == {"amount": "48500.50", "payment_reference": "VIR-2025-0042",
                       "idempotency_key": "release-0042", "purchase_order": order.pk}

    # --- the money, from the ledger -----------------------------------------------------
    assert list(EnvelopeEvent.objects.filter(project=project).values_list("kind", "amount")) == [
        ("commit", Decimal("55000.00")), ("release", Decimal("48500.50")),
    ]
    summary = selectors.project_funding_summary(project)
    assert summary.plan_total == Decimal("48500.50")
    assert (summary.approved, summary.ordered, summary.released, summary.balance) == (
        Decimal("55000.00"), Decimal("48500.50"), Decimal("48500.50"), Decimal("6499.50"),
    )
    assert [q.amount for q in summary.orders[0].quotes.all()] == [
        Decimal("48500.50"), Decimal("49990.00"), Decimal("51200.00"),
    ]
    assert summary.orders_not_received == []
    program_totals = selectors.program_envelope_totals(project.program)
    assert (program_totals.committed, program_totals.released, program_totals.free) == (
        Decimal("55000.00"), Decimal("48500.50"), Decimal("945000.00"),
    )
