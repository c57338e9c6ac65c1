"""Reads of the workflow app: what the project list and detail pages show.

Nothing here writes. Sensitive beneficiary data (CIN, disability) is not filtered
here but in the pages, by ``can_view_sensitive``; search never looks at the CIN.
"""

import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Case, F, JSONField, Q, QuerySet, When
from django.utils.translation import gettext_lazy as _

from core.pagination import Narrowed
from core.reasons import reason_text
from core.roles import Role
from ledger.models import AuditEntry
from ledger.selectors import anchored_entries
from workflow.eligibility import evaluate_eligibility, failure_text
from workflow.models import Document, GrantProject, ProjectState
from workflow.models.documents import DISABILITY_PROOF_TYPES, DocumentType

SENSITIVE_PERMISSION = "workflow.view_sensitive_beneficiary"
# Documents that carry the CIN or the disability: shown by name only to those who
# may see the data itself.
SENSITIVE_DOCUMENT_TYPES = frozenset([DocumentType.CIN_COPY, *DISABILITY_PROOF_TYPES])

_REFERENCE = re.compile(r"^\s*AGR-(\d{4})-0*(\d+)\s*$", re.IGNORECASE)


def can_view_sensitive(user) -> bool:
    return user.has_perm(SENSITIVE_PERMISSION)


def project_list(*, search: str = "", state: str = "", program_id=None) -> QuerySet[GrantProject]:
    """Projects, newest first, matching a reference (``AGR-2025-00012`` or ``12``), a
    title or a beneficiary name (Latin or Arabic script), and optionally a state and a
    program."""
    projects, search = _listed(state, program_id), (search or "").strip()
    if search:
        match = _REFERENCE.match(search)
        if match:
            return projects.filter(program__year=int(match[1]), pk=int(match[2]))
        projects = projects.filter(pk__in=_matching_project_ids(search))
    return projects.order_by(*PROJECT_LIST_KEYS)


def project_list_pages(*, search: str = "", state: str = "", program_id=None):
    """``project_list`` for the list's keyset pages (``core.pagination.keyset_page``): a
    title or name search is a ``Narrowed`` list, so a name that thousands of files share
    finds its page among the newest files instead of sorting all its matches."""
    search = (search or "").strip()
    if not search or _REFERENCE.match(search):
        return project_list(search=search, state=state, program_id=program_id)
    return Narrowed(
        queryset=_listed(state, program_id).order_by(*PROJECT_LIST_KEYS),
        row_test=_search_condition(search),
        matching=project_list(search=search, state=state, program_id=program_id),
    )


def _listed(state: str, program_id) -> QuerySet[GrantProject]:
    projects = GrantProject.objects.select_related("program", "beneficiary", "sector")
    if state:
        projects = projects.filter(state=state)
    if program_id:
        projects = projects.filter(program_id=program_id)
    return projects


# The project list's order, newest first: its keyset pages' key (an index serves it).
PROJECT_LIST_KEYS = ("-created_at", "-pk")
BENEFICIARY_NAMES = ("first_name", "last_name", "first_name_ar", "last_name_ar")


def _search_condition(search: str) -> Q:
    """``_matching_project_ids`` as a condition on one project row (and its beneficiary):
    what a ``Narrowed`` page tests on the newest files."""
    condition = Q(title__icontains=search)
    if search.isdigit():
        condition |= Q(pk=int(search))
    for name_field in BENEFICIARY_NAMES:
        condition |= Q(**{f"beneficiary__{name_field}__icontains": search})
    return condition


def _matching_project_ids(search: str):
    """The ids of the projects whose title, or whose beneficiary's name in either script,
    contains ``search`` (or whose number it is). One ``OR`` across the project and its
    beneficiary would scan their join; instead each table is matched on its own columns
    (on PostgreSQL each column has a trigram index, and the beneficiary's four combine
    in a BitmapOr) and the two sets of ids are united."""
    from workflow.models import Beneficiary

    by_title = Q(title__icontains=search)
    if search.isdigit():
        by_title |= Q(pk=int(search))
    named = Q()
    for name_field in BENEFICIARY_NAMES:
        named |= Q(**{f"{name_field}__icontains": search})
    people = Beneficiary.objects.filter(named).order_by().values("pk")
    return (GrantProject.objects.filter(by_title).order_by().values("pk")
            .union(GrantProject.objects.filter(beneficiary_id__in=people).order_by().values("pk")))


def project_detail(project_id) -> GrantProject:
    """The project with what its summary shows; raises ``GrantProject.DoesNotExist``."""
    return GrantProject.objects.select_related(
        "program", "beneficiary", "beneficiary__commune", "sector", "created_by", "submitted_by", "assigned_agent", "mentor"
    ).get(pk=project_id)


def project_documents(project) -> QuerySet[Document]:
    return project.documents.select_related("uploaded_by").order_by("doc_type", "-uploaded_at")


def committee_revision_reason(project) -> str:
    """Why the committee asked for a revision of the file: the reason signed into its
    latest ``decide_revise`` entry ("" when it never asked). The file keeps no column
    for it; the ledger is where the decision is recorded."""
    entry = (AuditEntry.objects.for_entity(project).filter(transition="decide_revise")
             .order_by("-seq").only("payload").first())
    return str((entry.payload or {}).get("reason") or "") if entry else ""


def project_eligibility_preview(project) -> list:
    """The program's eligibility rules the project fails today (what screening will find)."""
    return evaluate_eligibility(project)


@dataclass
class TimelineEntry:
    seq: int
    at: datetime
    actor: object
    role: str
    transition: str
    from_state: str
    to_state: str
    reason: str = ""
    note: str = ""
    amount: str = ""
    outcome: str = ""
    failed_rules: list = field(default_factory=list)
    entry_id: int | None = None
    name: str = ""
    from_value: str = ""
    to_value: str = ""
    # The first signed checkpoint whose tree holds the entry (None: not yet anchored).
    checkpoint_id: int | None = None
    checkpoint_size: int | None = None
    checkpoint_at: datetime | None = None
    problems: list = field(default_factory=list)  # messages of the ledger's verification, set by the page
    # Covered by the chain's stored whole-chain verification (set by the page).
    verified: bool = False
    # attach_document: the document and the fingerprint the ledger holds for it.
    document_id: int | None = None
    sha256: str = ""
    doc_type: str = ""
    # edit: the fields changed.
    changed: list = field(default_factory=list)


def _role_label(value: str) -> str:
    try:
        return Role(value).label
    except ValueError:
        return value


TRANSITION_LABELS = {
    "create": _("file opened"),
    "submit": _("submitted"),
    "return_docs": _("returned for documents"),
    "screen_ok": _("found eligible"),
    "screen_fail": _("found ineligible"),
    "schedule": _("put on a committee agenda"),
    "defer": _("deferred"),
    "decide_approve": _("approved by the committee"),
    "decide_revise": _("revision requested by the committee"),
    "decide_reject": _("rejected by the committee"),
    "resubmit": _("resubmitted"),
    "enrol": _("enrolled in training"),
    "complete_training": _("training signed off"),
    "open_funding": _("funding opened"),
    "equipment_received": _("equipment received"),
    "launch": _("launched"),
    "close": _("closed"),
    "withdraw": _("withdrawn"),
    "suspend": _("suspended"),
    "resume": _("resumed"),
    "attach_document": _("document attached"),
    "edit": _("file edited"),
    "give_back": _("commitment given back to the envelope"),
}
OUTCOME_LABELS = {
    "approve": _("approve"), "revise": _("request revision"), "reject": _("reject"),
    "success": _("success"), "failed": _("failed"), "abandoned": _("abandoned"),
}


def _state_label(value: str) -> str:
    try:
        return ProjectState(value).label
    except ValueError:
        return value


# The file page shows this many entries of its history at a time (the newest first
# page, older ones through ``?before=SEQ``): a page costs the same whatever the chain's length.
TIMELINE_PAGE_SIZE = 20


@dataclass
class TimelinePage:
    """A page of the project's history: ``entries`` in chain order, ``rows`` the same
    entries as the ledger stores them (for its check of the entries shown), ``previous``
    the entry just before the first one shown (None when the chain starts on this page),
    ``newest`` whether the page was asked for the newest entries."""

    entries: list[TimelineEntry]
    rows: list
    previous: object
    newest: bool
    size: int = TIMELINE_PAGE_SIZE

    @property
    def first_seq(self) -> int | None:
        return self.entries[0].seq if self.entries else None

    @property
    def last_seq(self) -> int | None:
        return self.entries[-1].seq if self.entries else None

    @property
    def older_before(self) -> int | None:
        """``?before=`` of the page of older entries (None: there is none)."""
        return self.entries[0].seq if self.previous is not None and self.entries else None

    @property
    def newer_before(self) -> int | None:
        """``?before=`` of the page of newer entries (None: the newest page, without it).
        Sequence numbers are contiguous, so the next page ends ``size`` entries later."""
        if self.newest or not self.entries:
            return None
        return self.entries[-1].seq + self.size + 1


def project_timeline(project, *, before: int | None = None, size: int = TIMELINE_PAGE_SIZE) -> TimelinePage:
    """The newest ``size`` audit entries of the project (those before sequence number
    ``before``, when given), in chain order, with what a person reads from them. One
    query, whatever the chain's length (keyset on the sequence number)."""
    entries = anchored_entries(project).select_related("actor").order_by("-seq")
    if before is not None:
        entries = entries.filter(seq__lt=before)
    rows = list(entries[: size + 1])
    rows.reverse()
    previous = rows.pop(0) if len(rows) > size else None
    return TimelinePage(entries=[_timeline_entry(entry) for entry in rows], rows=rows, previous=previous,
                        newest=before is None, size=size)


def _timeline_entry(entry) -> TimelineEntry:
    payload = entry.payload or {}
    return TimelineEntry(
        seq=entry.seq,
        at=entry.created_at,
        actor=entry.actor,
        role=_role_label(entry.actor_role),
        transition=TRANSITION_LABELS.get(entry.transition, entry.transition),
        from_state=_state_label(entry.from_state) if entry.from_state else "",
        to_state=_state_label(entry.to_state),
        reason=reason_text(payload.get("reason_code"), payload.get("reason_params"), payload.get("reason")),
        note=str(payload.get("note") or ""),
        amount=str(payload.get("amount") or ""),
        outcome=str(OUTCOME_LABELS.get(payload.get("outcome"), payload.get("outcome") or "")),
        failed_rules=[
            failure_text(rule) for rule in payload.get("failed_rules") or [] if isinstance(rule, dict)
        ],
        document_id=payload.get("document") if isinstance(payload.get("document"), int) else None,
        sha256=str(payload.get("sha256") or ""),
        doc_type=_document_type_label(payload.get("doc_type")),
        changed=[_field_label(name) for name in payload.get("changed") or [] if isinstance(name, str)],
        entry_id=entry.pk, name=entry.transition, from_value=entry.from_state, to_value=entry.to_state,
        checkpoint_id=entry.checkpoint_id, checkpoint_size=entry.checkpoint_size,
        checkpoint_at=entry.checkpoint_at,
    )


@dataclass(frozen=True)
class ProjectPath:
    """What the file's whole history says, read without its entries: the transitions
    taken, the states visited, and each attached document's signed fingerprint
    ({document id: (entry seq, SHA-256)}, the latest attachment of each)."""

    transitions: frozenset
    states: frozenset
    attachments: dict = field(default_factory=dict)


def project_path(project) -> ProjectPath:
    """The transitions the project's chain holds, the states it went through and its
    documents' signed fingerprints: one query returning one row per kind of move (the
    machine's size, not the chain's length) and one per attached document."""
    attach = Q(transition="attach_document")
    moves = (
        AuditEntry.objects.for_entity(project).order_by()
        .annotate(attached_seq=Case(When(attach, then=F("seq"))),
                  attached=Case(When(attach, then=F("payload")), output_field=JSONField()))
        .values_list("transition", "from_state", "to_state", "attached_seq", "attached").distinct()
    )
    transitions, states, attachments = set(), set(), {}
    for transition, source, target, seq, payload in moves:
        transitions.add(transition)
        states.update((source, target))
        document_id = payload.get("document") if isinstance(payload, dict) else None
        if isinstance(document_id, int) and seq > attachments.get(document_id, (0, ""))[0]:
            attachments[document_id] = (seq, str(payload.get("sha256") or ""))
    return ProjectPath(transitions=frozenset(transitions), states=frozenset(states - {""}), attachments=attachments)


def _document_type_label(value) -> str:
    if not value:
        return ""
    try:
        return str(DocumentType(value).label)
    except ValueError:
        return str(value)


def _field_label(name: str) -> str:
    try:
        return str(GrantProject._meta.get_field(name).verbose_name)
    except Exception:  # a field renamed since the entry was written: its name as recorded
        return name


@dataclass(frozen=True)
class DocumentSeal:
    """How a document stands against the ledger: ``sealed`` (the stored fingerprint is
    the one its signed ``attach_document`` entry holds), ``differs`` (it is not: the row
    was changed after the entry), ``unrecorded`` (attached before documents were recorded
    in the ledger)."""

    status: str
    entry_seq: int | None = None

    @property
    def sealed(self) -> bool:
        return self.status == "sealed"


def document_seals(path: ProjectPath, documents) -> dict[int, DocumentSeal]:
    """{document id: DocumentSeal}: each document against its signed ``attach_document``
    entry (``project_path``'s attachments; no query)."""
    recorded = path.attachments
    seals = {}
    for document in documents:
        entry = recorded.get(document.pk)
        if entry is None:
            seals[document.pk] = DocumentSeal("unrecorded")
        else:
            seq, sha256 = entry
            seals[document.pk] = DocumentSeal("sealed" if sha256 == document.sha256 else "differs", seq)
    return seals


def document_file_problems(project) -> list[str]:
    """Re-read every stored file of the project and compare its SHA-256 with the
    fingerprint recorded at upload (and sealed in the ledger): the files whose content
    changed or disappeared, as text. Reads the files: for the auditors' "verify now"."""
    problems = []
    for document in project.documents.order_by("pk"):
        label = f"{_document_type_label(document.doc_type)} #{document.pk}"
        digest = hashlib.sha256()
        try:
            with document.file.open("rb") as handle:
                for chunk in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(chunk)
        except (FileNotFoundError, ValueError, OSError):
            problems.append(str(_("%(document)s: the file is missing") % {"document": label}))
            continue
        if digest.hexdigest() != document.sha256:
            problems.append(str(_("%(document)s: the file's content no longer matches its recorded SHA-256")
                                % {"document": label}))
    return problems


def project_process(project):
    """The project's grant process and its open tasks, or (None, [])."""
    from viewflow.workflow import STATUS

    from workflow.flows import process_for

    process = process_for(project)
    if process is None:
        return None, []
    open_tasks = list(
        process.task_set.filter(status__in=(STATUS.NEW, STATUS.ASSIGNED))
        .select_related("owner")
        .order_by("pk")
    )
    return process, open_tasks
