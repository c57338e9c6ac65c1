from ..audit.models import AuditEntry
from .beneficiary import Beneficiary
from .documents import Document, DocumentType
from .followup import (
    EquipmentRecovery,
    FollowUpPlan,
    FollowUpVisit,
    IncomeControl,
    LegalStatus,
    Recommendation,
    RiskReason,
    SalesChannel,
    VisitReport,
    VisitState,
)
from .notifications import EmailPreference, Notification, NotificationKind, Step, StepDeadline
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
    "EmailPreference",
    "EquipmentRecovery",
    "FollowUpPlan",
    "FollowUpVisit",
    "GrantProject",
    "IncomeControl",
    "LegalStatus",
    "Notification",
    "NotificationKind",
    "Outcome",
    "Program",
    "ProgramModule",
    "ProjectState",
    "Recommendation",
    "RiskReason",
    "SalesChannel",
    "Step",
    "StepDeadline",
    "TrainingModule",
    "TrainingSession",
    "UserPreference",
    "VisitReport",
    "VisitState",
    "language_for",
]
