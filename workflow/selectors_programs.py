"""Reads of the programs' pages: the list, a program's settings as people read them,
and the program's audit timeline. Nothing here writes."""

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.db.models import Q, QuerySet
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from core.bidi import isolate_html
from core.money import decimal_mark, format_mad_html
from core.roles import Role
from ledger.selectors import anchored_entries
from workflow.models import DocumentType, Program
from workflow.models.program import SETTING_FIELDS as SETTINGS

TRANSITION_LABELS = {
    "create": _("program set up"),
    "configure": _("settings changed"),
}


def program_list(*, search: str = "") -> QuerySet[Program]:
    """Programs, the latest year first, matching a code, a name, a province or a year."""
    programs = Program.objects.all()
    for term in (search or "").split():
        match = Q(code__icontains=term) | Q(name__icontains=term) | Q(province__icontains=term)
        if term.isdigit():
            match |= Q(year=int(term))
        programs = programs.filter(match)
    return programs.order_by("-year", "name", "pk")


def field_label(name: str) -> str:
    try:
        return str(capfirst(Program._meta.get_field(name).verbose_name))
    except Exception:  # a field renamed since the entry was written: its name as recorded
        return name


def setting_text(name: str, value) -> str:
    """One setting's value as people read it on a page (amounts in the reader's format;
    numbers, amounts and codes isolated left-to-right, ``core.bidi``)."""
    if value is None or value == "":
        return "—"
    if name in ("envelope", "project_ceiling"):
        return format_mad_html(Decimal(str(value)))
    if name == "contribution_share":
        share = f"{Decimal(str(value)) * 100:.1f}".removesuffix(".0")
        return isolate_html(f"{share.replace('.', decimal_mark())} %")
    if name == "required_documents" and isinstance(value, list):
        return ", ".join(_document_label(code) for code in value) or "—"
    if name == "followup_offsets" and isinstance(value, list):
        return isolate_html(", ".join(str(month) for month in value)) or "—"
    if name == "majority_rule":
        try:
            return str(Program.MajorityRule(value).label)
        except ValueError:
            return str(value)
    if isinstance(value, bool):
        return str(_("yes") if value else _("no"))
    if isinstance(value, (int, Decimal)):
        return isolate_html(value)
    return str(value)


def _document_label(code) -> str:
    try:
        return str(DocumentType(code).label)
    except ValueError:
        return str(code)


def program_settings(program) -> list[tuple[str, str]]:
    """(label, value) of each setting, in the order of the settings form."""
    return [(field_label(name), setting_text(name, getattr(program, name))) for name in SETTINGS]


@dataclass
class ProgramTimelineEntry:
    seq: int
    at: datetime
    actor: object
    role: str
    transition: str
    entry_id: int
    changes: list = field(default_factory=list)  # (label, before, after)
    started_late: bool = False
    checkpoint_id: int | None = None
    problems: list = field(default_factory=list)


def _role_label(value: str) -> str:
    try:
        return str(Role(value).label)
    except ValueError:
        return value


def program_timeline(program) -> list[ProgramTimelineEntry]:
    """The program's audit entries in chain order: each change with its values before
    and after (the opening entry: the settings the program started with)."""
    timeline = []
    for entry in anchored_entries(program).select_related("actor"):
        payload = entry.payload or {}
        if entry.transition == "configure":
            changes = [
                (field_label(name), setting_text(name, values.get("before")), setting_text(name, values.get("after")))
                for name, values in (payload.get("changes") or {}).items() if isinstance(values, dict)
            ]
        else:
            changes = [(field_label(name), "", setting_text(name, value))
                       for name, value in (payload.get("settings") or {}).items()]
        timeline.append(ProgramTimelineEntry(
            seq=entry.seq, at=entry.created_at, actor=entry.actor, role=_role_label(entry.actor_role),
            transition=str(TRANSITION_LABELS.get(entry.transition, entry.transition)), entry_id=entry.pk,
            changes=changes, started_late=bool(payload.get("recorded_at_first_change")),
            checkpoint_id=entry.checkpoint_id,
        ))
    return timeline
