from ..audit.models import AuditEntry
from .beneficiary import Beneficiary
from .documents import Document, DocumentType
from .preferences import UserPreference, language_for
from .program import Program
from .project import GrantProject, Outcome, ProjectState
from .reference import ActivitySector, Commune
from .training import AttendanceRecord, ProgramModule, TrainingModule, TrainingSession

__all__ = [
    "ActivitySector",
    "AttendanceRecord",
    "AuditEntry",
    "Beneficiary",
    "Commune",
    "Document",
    "DocumentType",
    "GrantProject",
    "Outcome",
    "Program",
    "ProgramModule",
    "ProjectState",
    "TrainingModule",
    "TrainingSession",
    "UserPreference",
    "language_for",
]
