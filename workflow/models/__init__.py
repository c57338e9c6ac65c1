from ..audit.models import AuditEntry
from .beneficiary import Beneficiary
from .documents import Document, DocumentType
from .program import Program
from .project import GrantProject, Outcome, ProjectState
from .reference import ActivitySector, Commune

__all__ = [
    "ActivitySector",
    "AuditEntry",
    "Beneficiary",
    "Commune",
    "Document",
    "DocumentType",
    "GrantProject",
    "Outcome",
    "Program",
    "ProjectState",
]
