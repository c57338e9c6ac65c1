from workflow.models.beneficiary import Beneficiary
from workflow.models.documents import Document, DocumentType
from workflow.models.program import Program
from workflow.models.project import GrantProject, Outcome, ProjectState
from workflow.models.reference import ActivitySector, Commune

__all__ = [
    "ActivitySector",
    "Beneficiary",
    "Commune",
    "Document",
    "DocumentType",
    "GrantProject",
    "Outcome",
    "Program",
    "ProjectState",
]
