"""Drive a project to any lifecycle state through the real services.

Used by the demo seed and by the tests, so every project, demo or test, has a true
history in the audit ledger: nothing here writes ``state`` directly.
"""

from dataclasses import dataclass

from django.core.files.uploadedfile import SimpleUploadedFile

from . import services
from .models import GrantProject, ProjectState
from .models.documents import DISABILITY_PROOF_TYPES

S = ProjectState

# The transitions that lead from draft to each state, as (service step names).
PATHS = {
    S.DRAFT: [],
    S.SUBMITTED: ["documents", "submit"],
    S.ELIGIBLE: ["documents", "submit", "screen_ok"],
    S.INELIGIBLE: ["documents", "submit", "screen_fail"],
    S.IN_COMMITTEE: ["documents", "submit", "screen_ok", "schedule"],
    S.APPROVED: ["documents", "submit", "screen_ok", "schedule", "approve"],
    S.REVISION_REQUESTED: ["documents", "submit", "screen_ok", "schedule", "revise"],
    S.REJECTED: ["documents", "submit", "screen_ok", "schedule", "reject"],
    S.IN_TRAINING: ["documents", "submit", "screen_ok", "schedule", "approve", "enrol"],
    S.TRAINED: ["documents", "submit", "screen_ok", "schedule", "approve", "enrol", "train"],
    S.FUNDING: ["documents", "submit", "screen_ok", "schedule", "approve", "enrol", "train", "fund"],
    S.EQUIPPED: ["documents", "submit", "screen_ok", "schedule", "approve", "enrol", "train", "fund",
                 "equip"],
    S.LAUNCHED: ["documents", "submit", "screen_ok", "schedule", "approve", "enrol", "train", "fund",
                 "equip", "launch"],
    S.CLOSED: ["documents", "submit", "screen_ok", "schedule", "approve", "enrol", "train", "fund",
               "equip", "launch", "close"],
    S.WITHDRAWN: ["withdraw"],
    S.SUSPENDED: ["suspend"],
}


@dataclass
class Cast:
    """Who plays each part when a project is driven through its life."""

    agent: object
    officer: object
    chair: object
    finance: object
    mentor: object
    screener: object = None  # a second officer, when ``officer`` submitted the file

    def __post_init__(self):
        self.screener = self.screener or self.officer


def attach_required_documents(project, actor):
    types = list(project.program.required_documents)
    if project.beneficiary.has_disability:
        types.append(DISABILITY_PROOF_TYPES[0].value)
    present = set(project.documents.values_list("doc_type", flat=True))
    for doc_type in types:
        if doc_type in present:
            continue
        content = f"%PDF-1.4 {doc_type} of project {project.pk}\n".encode()
        services.document_attach(
            project_id=project.pk, actor=actor, doc_type=doc_type,
            uploaded_file=SimpleUploadedFile(f"{doc_type}.pdf", content, "application/pdf"),
        )


SCENARIO_SUPPLIER = "Équipements du Rif (fournisseur de démonstration)"


def receive_equipment(project_id, cast):
    """Buy a funded project's equipment with one purchase order, through the funding
    services, up to received with a receipt report signed in the application, so that
    ``equipment_received`` may follow. One supplier's quote with a written justification
    (the smallest legal purchase); amount: the approved amount, within the per-order limit."""
    from decimal import Decimal

    from django.conf import settings

    from disbursements import services as funding
    from disbursements.models import Supplier

    project = GrantProject.objects.get(pk=project_id)
    supplier = Supplier.objects.filter(name=SCENARIO_SUPPLIER).first() or funding.supplier_create(
        actor=cast.finance, name=SCENARIO_SUPPLIER, city="Nador"
    )
    amount = min(project.approved_amount, Decimal(settings.TAMKEEN_PURCHASE_ORDER_LIMIT))
    order = funding.purchase_order_create(project_id=project_id, actor=cast.finance,
                                          description=f"Équipement : {project.title}")
    quote = funding.quote_add(order_id=order.pk, actor=cast.finance, supplier_id=supplier.pk, amount=amount)
    funding.purchase_order_choose_quote(
        order_id=order.pk, actor=cast.finance, quote_id=quote.pk, reason="Seul devis recevable.",
        justification="Fournisseur unique de cet équipement dans la province.",
    )
    funding.purchase_order_issue(order_id=order.pk, actor=cast.finance)
    funding.purchase_order_deliver(order_id=order.pk, actor=cast.mentor)
    funding.receipt_confirm_mentor(order_id=order.pk, actor=cast.mentor)
    funding.receipt_witness_beneficiary(order_id=order.pk, actor=cast.agent)
    return funding.purchase_order_receive(order_id=order.pk, actor=cast.mentor)


def drive(project: GrantProject, target: str, cast: Cast, *, amount=None) -> GrantProject:
    """Move a draft ``project`` to ``target`` through the services and return it fresh."""
    pid = project.pk
    steps = {
        "documents": lambda: attach_required_documents(project, cast.agent),
        "submit": lambda: services.project_submit(project_id=pid, actor=cast.agent),
        "screen_ok": lambda: services.project_screen(project_id=pid, actor=cast.screener),
        "screen_fail": lambda: services.project_screen(
            project_id=pid, actor=cast.screener, failures=["The activity already exists at this address."]
        ),
        "schedule": lambda: services.project_schedule(project_id=pid, actor=cast.officer),
        "approve": lambda: services.project_decide(
            project_id=pid, actor=cast.chair, outcome="approve",
            amount=amount if amount is not None else project.requested_amount,
        ),
        "revise": lambda: services.project_decide(
            project_id=pid, actor=cast.chair, outcome="revise", reason="Clarify the equipment list."
        ),
        "reject": lambda: services.project_decide(
            project_id=pid, actor=cast.chair, outcome="reject", reason="The market study is too weak."
        ),
        "enrol": lambda: services.project_enrol(project_id=pid, actor=cast.officer),
        "train": lambda: services.project_complete_training(project_id=pid, actor=cast.officer),
        "fund": lambda: services.project_open_funding(project_id=pid, actor=cast.finance),
        "equip": lambda: (receive_equipment(pid, cast),
                          services.project_confirm_equipment(project_id=pid, actor=cast.officer)),
        "launch": lambda: services.project_launch(project_id=pid, actor=cast.mentor),
        "close": lambda: services.project_close(project_id=pid, actor=cast.officer, outcome="success"),
        "withdraw": lambda: services.project_withdraw(
            project_id=pid, actor=cast.agent, reason="The beneficiary moved away."
        ),
        "suspend": lambda: services.project_suspend(
            project_id=pid, actor=cast.officer, reason="Documents under verification."
        ),
    }
    for step in PATHS[S(target)]:
        steps[step]()
    return GrantProject.objects.select_related("program", "beneficiary").get(pk=pid)
