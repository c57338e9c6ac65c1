"""Drive a project to any lifecycle state through the real services.

Used by the demo seed and by the tests, so every project, demo or test, has a true
history in the audit ledger: nothing here writes ``state`` directly.
"""

from dataclasses import dataclass, field

from django.core.files.uploadedfile import SimpleUploadedFile

from disbursements import services as funding_services
from followup import services as followup_services
from training import services as training_services
from workflow import services
from workflow.models import GrantProject, ProjectState
from workflow.models.documents import DISABILITY_PROOF_TYPES

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

# The state each step leaves the file in ("documents" leaves it a draft).
LANDS_IN = {
    "documents": S.DRAFT, "submit": S.SUBMITTED, "screen_ok": S.ELIGIBLE, "screen_fail": S.INELIGIBLE,
    "schedule": S.IN_COMMITTEE, "approve": S.APPROVED, "revise": S.REVISION_REQUESTED, "reject": S.REJECTED,
    "enrol": S.IN_TRAINING, "train": S.TRAINED, "fund": S.FUNDING, "equip": S.EQUIPPED, "launch": S.LAUNCHED,
    "close": S.CLOSED, "withdraw": S.WITHDRAWN, "suspend": S.SUSPENDED,
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
    # The committee that examines the files (DESIGN.md §3: only a session schedules and
    # decides): ``chair`` chairs it, ``members`` sit on it; created on first use.
    members: list = field(default_factory=list)
    committee_name: str = "Comité provincial de sélection"

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


STABLE_VISIT = {
    "activity_running": True, "monthly_revenue": "4500.00", "monthly_profit": "1800.00", "jobs_created": 1,
    "equipment_present": True, "equipment_in_use": True, "legal_status": "auto_entrepreneur",
    "sales_channels": ["home", "souk"], "recommendation": "continue",
}


def report_followup(project_id, cast, **figures):
    """Report every visit of a launched project's follow-up plan, in order, as its mentor
    (the cast's mentor is assigned first if the project has none), with steady figures
    (``figures`` overrides them), so that the plan is complete and ``close`` may follow."""
    from django.utils import timezone

    from followup.models import FollowUpVisit

    project = GrantProject.objects.get(pk=project_id)
    if project.mentor_id is None:
        followup_services.project_assign_mentor(project_id=project_id, actor=cast.officer, mentor_id=cast.mentor.pk)
    for visit in FollowUpVisit.objects.filter(project_id=project_id, state="planned").order_by("sequence"):
        followup_services.visit_report(
            visit_id=visit.pk, actor=visit.mentor or cast.mentor,
            **{"visited_on": timezone.localdate(), **STABLE_VISIT, **figures},
        )


# Sessions the scenarios hold carry this title (the test suite recognises them by it).
SCENARIO_SESSION_TITLE = "Séance d'examen des dossiers"
DECISION_REASONS = {
    "revise": "Clarify the equipment list.",
    "reject": "The market study is too weak.",
    "defer": "",
}


def scenario_committee(program, cast):
    """The committee of ``program`` named ``cast.committee_name`` and chaired by
    ``cast.chair`` (``cast.members`` sitting on it), created on first use with the
    program's default scoring criteria."""
    from approvals import services as committee
    from approvals.models import Committee, CommitteeMember

    found = (
        Committee.objects.filter(
            program=program, name=cast.committee_name, members__user=cast.chair,
            members__role=CommitteeMember.Role.CHAIR, members__is_active=True,
        ).order_by("pk").first()
    )
    if found is not None:
        return found
    committee.criteria_ensure_defaults(program)
    return committee.committee_create(
        actor=cast.officer, program=program, name=cast.committee_name,
        members=[(cast.chair, CommitteeMember.Role.CHAIR),
                 *[(member, CommitteeMember.Role.MEMBER) for member in cast.members]],
    )


def plan_session(program, cast, project_ids=(), *, title=SCENARIO_SESSION_TITLE):
    """A planned session of the cast's committee with the (eligible) files
    ``project_ids`` put on its agenda by the cast's officer, in order."""
    from django.utils import timezone

    from approvals import services as committee

    session = committee.session_create(
        actor=cast.officer, committee=scenario_committee(program, cast), title=title,
        scheduled_for=timezone.now(), location="Nador",
    )
    for project_id in project_ids:
        committee.session_add_item(session_id=session.pk, project_id=project_id, actor=cast.officer)
    return session


def hold_session(session_id, cast, decisions, *, close=True):
    """Hold a planned (or open) session to its close, through the committee services.

    ``decisions`` maps each file on the agenda (project id) to ``(outcome, detail)``:
    ``("approve", amount)``, ``("revise", reason)``, ``("reject", reason)`` or
    ``("defer", reason)``. Every seat is recorded present; each member declares no
    conflict and votes the outcome on each file to decide (nobody votes on a file to
    defer: no majority); the chair confirms each decision and closes the session,
    which applies them to the files (with ``close=False`` the session is left open,
    every decision confirmed)."""
    from approvals import services as committee
    from approvals.models import AgendaItem, CommitteeMember, CommitteeSession

    session = CommitteeSession.objects.select_related("committee__program").get(pk=session_id)
    items = list(AgendaItem.objects.filter(session=session, removed=False).order_by("position", "pk"))
    unknown = [item.project_id for item in items if item.project_id not in decisions]
    if unknown:
        raise ValueError(f"no decision given for the files {unknown} on session {session_id}")
    seats = [m.user for m in CommitteeMember.objects.filter(committee=session.committee, is_active=True)
             .select_related("user").order_by("pk")]
    if session.state == "planned":
        committee.session_record_attendance(session_id=session_id, actor=cast.officer,
                                            present_user_ids=[user.pk for user in seats])
        committee.session_open(session_id=session_id, actor=cast.chair)
    scores = dict.fromkeys(session.committee.program.criteria.values_list("code", flat=True), 4)
    for item in items:
        outcome, detail = decisions[item.project_id]
        if outcome != "defer":
            for user in seats:
                committee.item_declare_interest(item_id=item.pk, actor=user, has_conflict=False)
                committee.item_vote(item_id=item.pk, actor=user, choice=outcome, scores=scores)
        given = {"amount": detail} if outcome == "approve" else {"reason": detail}
        committee.item_confirm_decision(item_id=item.pk, actor=cast.chair, **given)
    if not close:
        return CommitteeSession.objects.get(pk=session_id)
    return committee.session_close(session_id=session_id, actor=cast.chair)


def decide_in_session(project_id, cast, outcome, detail=None, *, close=True):
    """Have the session whose agenda holds the file (in committee) decide ``outcome`` on
    it; ``detail`` is the approved amount or the reason (a default reason otherwise)."""
    from approvals.models import AgendaItem

    item = (AgendaItem.objects.filter(project_id=project_id, removed=False, session__state__in=("planned", "open"))
            .order_by("-pk").first())
    if item is None:
        raise ValueError(f"project {project_id} is on no planned or open session's agenda")
    if detail is None:
        detail = (GrantProject.objects.values_list("requested_amount", flat=True).get(pk=project_id)
                  if outcome == "approve" else DECISION_REASONS[outcome])
    return hold_session(item.session_id, cast, {project_id: (outcome, detail)}, close=close)


def drive(project: GrantProject, target: str, cast: Cast, *, amount=None) -> GrantProject:
    """Move ``project`` to ``target`` through the services and return it fresh.

    A draft goes the whole way; a file already on the way continues from its state
    (e.g. in_committee → approved). The committee steps go through real sessions of the
    cast's committee: ``schedule`` plans a session with the file on its agenda (left
    planned); ``approve``/``revise``/``reject`` hold that session to its close."""
    pid = project.pk
    steps = {
        "documents": lambda: attach_required_documents(project, cast.agent),
        "submit": lambda: services.project_submit(project_id=pid, actor=cast.agent),
        "screen_ok": lambda: services.project_screen(project_id=pid, actor=cast.screener),
        "screen_fail": lambda: services.project_screen(
            project_id=pid, actor=cast.screener, failures=["The activity already exists at this address."]
        ),
        "schedule": lambda: plan_session(project.program, cast, [pid]),
        "approve": lambda: decide_in_session(
            pid, cast, "approve", amount if amount is not None else project.requested_amount
        ),
        "revise": lambda: decide_in_session(pid, cast, "revise"),
        "reject": lambda: decide_in_session(pid, cast, "reject"),
        "enrol": lambda: services.project_enrol(project_id=pid, actor=cast.officer),
        "train": lambda: training_services.project_complete_training(project_id=pid, actor=cast.officer),
        "fund": lambda: services.project_open_funding(project_id=pid, actor=cast.finance),
        "equip": lambda: (receive_equipment(pid, cast),
                          funding_services.project_confirm_equipment(project_id=pid, actor=cast.officer)),
        "launch": lambda: followup_services.project_launch(project_id=pid, actor=cast.mentor),
        "close": lambda: (report_followup(pid, cast),
                          followup_services.project_close(project_id=pid, actor=cast.officer, outcome="success")),
        "withdraw": lambda: services.project_withdraw(
            project_id=pid, actor=cast.agent, reason="The beneficiary moved away."
        ),
        "suspend": lambda: services.project_suspend(
            project_id=pid, actor=cast.officer, reason="Documents under verification."
        ),
    }
    path = PATHS[S(target)]
    state = GrantProject.objects.values_list("state", flat=True).get(pk=pid)
    if state != S.DRAFT:
        landed = [i for i, step in enumerate(path) if LANDS_IN[step] == state]
        if not landed:
            raise ValueError(f"{target} is not on the way from {state}")
        path = path[landed[-1] + 1:]
    for step in path:
        steps[step]()
    return GrantProject.objects.select_related("program", "beneficiary").get(pk=pid)
