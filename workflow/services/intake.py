"""Writes before and around the lifecycle: beneficiaries, draft projects, documents.

Creating a project opens its audit chain (entry 1, ``create``: "" → draft), so a
replay of the chain starts from nothing.
"""

from datetime import date

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from core import scopes
from core.exceptions import InvalidInput, TransitionNotAllowed
from core.input import clean_text, parse_money
from core.money import amount_in_message
from core.roles import role_for
from core.transactions import service_transaction, within_caller_transaction
from core.uploads import accept_upload
from ledger.entries import HEAD_FIELDS, record_transition
from ledger.payload import pii_hash
from ledger.transitions import apply_transition, check_permission
from workflow.eligibility import age_outside_range
from workflow.locks import lock_project
from workflow.models import Beneficiary, Document, DocumentType, GrantProject, Program
from workflow.models.project import ProjectState

EDITABLE_STATES = (ProjectState.DRAFT, ProjectState.REVISION_REQUESTED)
BENEFICIARY_FIELDS = (
    "first_name", "last_name", "first_name_ar", "last_name_ar", "cin", "phone", "gender",
    "birth_date", "commune", "address", "is_woman_in_difficulty", "has_disability",
    "disability_proof", "last_support_date", "consent_given", "consent_date",
)
# The beneficiary's free texts, cleaned at input (see ``core.input.clean_text``).
BENEFICIARY_TEXTS = ("first_name", "last_name", "first_name_ar", "last_name_ar", "address")


def _validated(instance, exclude=()):
    try:
        instance.full_clean(exclude=list(exclude))
    except ValidationError as exc:
        raise InvalidInput(field_errors=exc.message_dict) from None
    return instance


@service_transaction
def beneficiary_create(*, actor, **fields) -> Beneficiary:
    """Register a beneficiary. Association agent. CIN and phone are normalised; every
    invalid field is reported at once; nothing is saved on error."""
    check_permission(actor, "workflow.add_beneficiary")
    unknown = set(fields) - set(BENEFICIARY_FIELDS)
    if unknown:
        raise InvalidInput(field_errors={f: [_("Unknown field.")] for f in sorted(unknown)})
    fields.update({f: clean_text(fields[f]) for f in BENEFICIARY_TEXTS if isinstance(fields.get(f), str)})
    beneficiary = _validated(Beneficiary(created_by=actor, **fields))
    beneficiary.save()
    return beneficiary


def _project_amount_errors(program, requested_amount, own_contribution):
    """The program's and the amounts' errors of a new project, and the parsed amounts."""
    errors = {}
    try:
        requested_amount = parse_money(requested_amount, "requested_amount")
    except InvalidInput as exc:
        errors.update(exc.field_errors)
    try:
        own_contribution = parse_money(own_contribution, "own_contribution", allow_zero=True)
    except InvalidInput as exc:
        errors.update(exc.field_errors)
    if isinstance(program, Program) and not program.is_active:
        errors.setdefault("program", []).append(_("This program is closed for applications."))
    if not errors and requested_amount > program.project_ceiling:
        errors["requested_amount"] = [
            _("The requested amount exceeds the program ceiling of %(ceiling)s MAD.")
            % {"ceiling": amount_in_message(program.project_ceiling)}
        ]
    return errors, requested_amount, own_contribution


@service_transaction
def project_create(*, actor, program, beneficiary, title, sector, description,
                   requested_amount, own_contribution="0") -> GrantProject:
    """Open a draft application file. Association agent. Audited as ``create``."""
    check_permission(actor, "workflow.add_grantproject")
    errors, requested_amount, own_contribution = _project_amount_errors(
        program, requested_amount, own_contribution
    )
    if errors:
        raise InvalidInput(field_errors=errors)
    project = GrantProject(
        program=program, beneficiary=beneficiary, title=clean_text(title), sector=sector,
        description=clean_text(description), requested_amount=requested_amount,
        own_contribution=own_contribution, created_by=actor,
    )
    _validated(project, exclude=["state"])
    project.save()
    record_transition(
        entity=project, transition="create", from_state="", to_state=project.state,
        actor=actor, role=role_for(actor, "workflow.add_grantproject"),
        payload={
            "program": program.code,
            "beneficiary": pii_hash(beneficiary.cin),
            "requested_amount": requested_amount,
            "own_contribution": own_contribution,
        },
    )
    project.save(update_fields=list(HEAD_FIELDS))
    return project


@service_transaction
def project_update(*, project_id, actor, **changes) -> GrantProject:
    """Edit a file while it is a draft or under revision. Association agent."""
    check_permission(actor, "workflow.change_grantproject")
    allowed = {"title", "sector", "description", "requested_amount", "own_contribution"}
    unknown = set(changes) - allowed
    if unknown:
        raise InvalidInput(field_errors={f: [_("This field cannot be changed.")] for f in sorted(unknown)})
    project = lock_project(project_id)
    if project.state not in EDITABLE_STATES:
        raise TransitionNotAllowed(_("Only a draft or a file under revision can be edited."))
    scopes.check(actor, project, "workflow.change_grantproject")
    if "requested_amount" in changes:
        changes["requested_amount"] = parse_money(changes["requested_amount"], "requested_amount")
        if changes["requested_amount"] > project.program.project_ceiling:
            raise InvalidInput(field_errors={"requested_amount": [
                _("The requested amount exceeds the program ceiling of %(ceiling)s MAD.")
                % {"ceiling": amount_in_message(project.program.project_ceiling)}
            ]})
    if "own_contribution" in changes:
        changes["own_contribution"] = parse_money(changes["own_contribution"], "own_contribution", allow_zero=True)
    for field, value in changes.items():
        setattr(project, field, clean_text(value) if isinstance(value, str) else value)
    _validated(project, exclude=["state"])
    if not changes:
        return project
    # On the file's chain: which fields changed, with the new amounts and sector (the
    # texts themselves stay in the file).
    apply_transition(project, actor, "edit", fields=list(changes), payload={
        "changed": sorted(changes),
        **{field: getattr(project, field) for field in ("requested_amount", "own_contribution") if field in changes},
        **({"sector": project.sector.code if project.sector_id else None} if "sector" in changes else {}),
    })
    return project


@service_transaction
def document_attach(*, project_id, actor, doc_type, uploaded_file) -> Document:
    """Attach a typed document: a PDF, JPEG or PNG by its content, an image re-encoded
    without its metadata (``core.uploads.accept_upload``), fingerprinted with the
    SHA-256 of the bytes stored. Agent, officer or mentor. The same content twice on
    one file is refused. Raises ``InvalidInput`` (``doc_type``; the upload's codes on
    ``file``) and ``TransitionNotAllowed`` on a closed file."""
    check_permission(actor, "workflow.add_document")
    if doc_type not in DocumentType.values:
        raise InvalidInput(field_errors={"doc_type": [_("Choose a document type from the list.")]})
    # Before the lock: decoding an image takes a moment, and nobody need wait for it.
    accepted = accept_upload(uploaded_file, field="file")
    project = lock_project(project_id)
    if project.is_terminal:
        raise TransitionNotAllowed(_("Documents cannot be added to a closed file."))
    scopes.check(actor, project, "workflow.add_document")
    if project.documents.filter(sha256=accepted.sha256).exists():
        raise InvalidInput(field_errors={"file": [_("This file is already attached to the project.")]})
    document = Document(
        project=project, doc_type=doc_type, original_name=accepted.name,
        size=accepted.size, sha256=accepted.sha256, uploaded_by=actor,
    )
    document.file.save(accepted.name, accepted.as_file(), save=False)
    document.save()
    # On the file's audit chain: who attached which content, when (the name stays off
    # the ledger: it may carry personal data).
    apply_transition(project, actor, "attach_document", payload={
        "document": document.pk, "doc_type": doc_type, "sha256": accepted.sha256, "size": document.size,
    })
    return document


PROJECT_FIELDS = ("title", "sector", "description", "requested_amount", "own_contribution")


@service_transaction
def application_create(*, actor, program, project_fields, beneficiary=None,
                       beneficiary_fields=None) -> GrantProject:
    """Open an application in one transaction: register the beneficiary (unless an
    existing one is given) and open the draft project. Association agent.

    Every mistake of both parts is reported at once, field by field; on any error
    nothing is saved (no beneficiary is left without the project it was entered for).
    A new application's beneficiary lives in the program's province.
    """
    check_permission(actor, "workflow.add_grantproject")
    if beneficiary is None:
        check_permission(actor, "workflow.add_beneficiary")
    unknown = set(project_fields) - set(PROJECT_FIELDS)
    if unknown:
        raise InvalidInput(field_errors={f: [_("Unknown field.")] for f in sorted(unknown)})
    if not isinstance(program, Program):
        raise InvalidInput(field_errors={"program": [_("Choose a program from the list.")]})
    errors = {}
    with within_caller_transaction():
        if beneficiary is None:
            try:
                beneficiary = beneficiary_create(actor=actor, **(beneficiary_fields or {}))
            except InvalidInput as exc:
                errors.update(exc.field_errors)
        if beneficiary is not None and beneficiary.commune.province != program.province:
            field = "beneficiary" if beneficiary_fields is None else "commune"
            errors.setdefault(field, []).append(
                _("The beneficiary's commune is not in the province of %(province)s.")
                % {"province": program.province}
            )
        outside = age_outside_range(beneficiary, program, date.today()) if beneficiary is not None else None
        if outside:
            errors.setdefault("beneficiary" if beneficiary_fields is None else "birth_date", []).append(outside)
        if errors:
            # Check the project's part too, so every mistake is said at once.
            errors.update(_project_field_errors(program, project_fields))
            raise InvalidInput(field_errors=errors)
        return project_create(actor=actor, program=program, beneficiary=beneficiary, **project_fields)


def _project_field_errors(program, fields) -> dict:
    """The errors ``project_create`` would report on ``fields``, without a beneficiary."""
    errors, requested, own = _project_amount_errors(
        program, fields.get("requested_amount"), fields.get("own_contribution", "0")
    )
    project = GrantProject(
        program=program, title=clean_text(fields.get("title")), sector=fields.get("sector"),
        description=clean_text(fields.get("description")),
    )
    exclude = ["state", "beneficiary", "created_by", "requested_amount", "own_contribution"]
    try:
        project.full_clean(exclude=exclude, validate_constraints=False)
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            errors.setdefault(field, []).extend(messages)
    return errors
