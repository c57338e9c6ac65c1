"""The roles of DESIGN.md §1 as Django groups, and the permissions each one holds.

The table below is the single source: the data migrations and ``manage.py sync_roles``
apply it, services read it to say in which role an actor acted.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    ASSOCIATION_AGENT = "association_agent", _("association agent")
    PROGRAM_OFFICER = "program_officer", _("program officer")
    COMMITTEE_MEMBER = "committee_member", _("committee member")
    COMMITTEE_CHAIR = "committee_chair", _("committee chair")
    TRAINER = "trainer", _("trainer")
    MENTOR = "mentor", _("mentor")
    FINANCE_OFFICER = "finance_officer", _("finance officer")
    AUTHORIZING_OFFICER = "authorizing_officer", _("authorizing officer")
    TREASURER = "treasurer", _("treasurer")
    AUDITOR = "auditor", _("auditor")
    ADMIN = "admin", _("administrator")


_READ_PROJECTS = [
    "workflow.view_program", "workflow.view_commune", "workflow.view_activitysector",
    "workflow.view_grantproject", "workflow.view_beneficiary", "workflow.view_document",
]
_READ_COMMITTEES = [
    "approvals.view_committee", "approvals.view_committeemember", "approvals.view_scoringcriterion",
    "approvals.view_committeesession", "approvals.view_agendaitem",
]
_READ_TRAINING = [
    "training.view_trainingmodule", "training.view_programmodule",
    "training.view_trainingsession", "training.view_attendancerecord",
]
_READ_PROCUREMENT = [
    "disbursements.view_equipmentitem", "disbursements.view_supplier", "disbursements.view_quote",
    "disbursements.view_purchaseorder", "disbursements.view_receiptreport",
]
_READ_FUNDING = _READ_PROCUREMENT + ["disbursements.view_disbursement", "disbursements.view_envelopeevent"]
_READ_FOLLOWUP = [
    "followup.view_followupplan", "followup.view_followupvisit", "followup.view_visitreport",
    "followup.view_equipmentrecovery",
]
_READ_ALL = _READ_PROJECTS + _READ_COMMITTEES + _READ_TRAINING + [
    "ledger.view_auditentry", "workflow.view_sensitive_beneficiary",
    "approvals.view_attendance", "approvals.view_interestdeclaration", "approvals.view_vote",
    "approvals.view_sessionminutes", "approvals.view_minutesconfirmation",
] + _READ_FUNDING + _READ_FOLLOWUP

# The time limits of each step of a program (workflow.StepDeadline).
_CONFIGURE_DEADLINES = [
    "notifications.view_stepdeadline", "notifications.add_stepdeadline",
    "notifications.change_stepdeadline", "notifications.delete_stepdeadline",
]

# Sign-in throttling (core.login_throttle): the admin's lists of attempts, failures and
# sign-ins; deleting a user name's attempts unlocks it.
_UNLOCK_SIGN_INS = [
    "axes.view_accessattempt", "axes.delete_accessattempt",
    "axes.view_accessfailurelog", "axes.view_accesslog",
]

# Program-wide reads beyond single files. Dashboards (pipeline, envelope, beneficiaries,
# follow-up): whoever reads the envelope ledger — program officers, auditors,
# administrators and the finance roles. CSV export of the project list: those who read
# every file and its history — program officers, auditors, administrators.
DASHBOARD_PERMISSION = "disbursements.view_envelopeevent"
PROJECT_EXPORT_PERMISSION = "ledger.view_auditentry"

ROLE_PERMISSIONS = {
    Role.ASSOCIATION_AGENT: _READ_PROJECTS + [
        "workflow.add_beneficiary", "workflow.change_beneficiary",
        "workflow.view_sensitive_beneficiary",
        "workflow.add_grantproject", "workflow.change_grantproject", "workflow.add_document",
        "workflow.submit_project", "workflow.withdraw_project",
        "disbursements.witness_receipt", *_READ_PROCUREMENT,
    ],
    Role.PROGRAM_OFFICER: _READ_ALL + [
        "workflow.add_program", "workflow.change_program", "workflow.add_document",
        "workflow.screen_project", "workflow.schedule_project", "workflow.defer_project",
        "workflow.enrol_project", "workflow.complete_training",
        "training.add_programmodule", "training.change_programmodule",
        "training.add_trainingsession", "training.assign_trainer",
        "workflow.confirm_equipment", "workflow.launch_project", "workflow.close_project",
        *_CONFIGURE_DEADLINES,
        "followup.assign_mentor",
        "disbursements.plan_equipment", "disbursements.receive_purchaseorder",
        "workflow.withdraw_project", "workflow.suspend_project", "workflow.assign_agent",
        "approvals.add_committee", "approvals.change_committee", "approvals.add_committeemember",
        "approvals.change_committeemember", "approvals.add_scoringcriterion",
        "approvals.change_scoringcriterion", "approvals.add_committeesession", "approvals.manage_session",
    ],
    Role.COMMITTEE_MEMBER: _READ_PROJECTS + _READ_COMMITTEES + ["approvals.vote_session"],
    Role.COMMITTEE_CHAIR: _READ_PROJECTS + _READ_COMMITTEES + [
        "workflow.decide_project", "workflow.defer_project", "approvals.vote_session", "approvals.chair_session",
    ],
    # Trainers schedule their own sessions and record their attendance.
    Role.TRAINER: _READ_PROJECTS + _READ_TRAINING + [
        "training.add_trainingsession", "training.add_attendancerecord",
    ],
    Role.MENTOR: _READ_PROJECTS + _READ_PROCUREMENT + _READ_FOLLOWUP + [
        "workflow.add_document", "workflow.launch_project", "followup.report_visit",
        "disbursements.plan_equipment", "disbursements.receive_purchaseorder", "disbursements.confirm_receipt",
    ],
    # Funding: the maker prepares orders and requests tranches; the ordonnateur
    # authorizes; the comptable releases (three people, enforced in the services).
    Role.FINANCE_OFFICER: _READ_PROJECTS + _READ_FUNDING + [
        "workflow.open_funding", "disbursements.plan_equipment", "disbursements.add_supplier",
        "disbursements.prepare_purchaseorder", "disbursements.issue_purchaseorder",
        "disbursements.request_disbursement", "disbursements.decommit_project",
    ],
    Role.AUTHORIZING_OFFICER: _READ_PROJECTS + _READ_FUNDING + ["disbursements.authorize_disbursement"],
    Role.TREASURER: _READ_PROJECTS + _READ_FUNDING + ["disbursements.release_disbursement"],
    # Auditors read everything and change nothing: only view_* and verification.
    Role.AUDITOR: _READ_ALL + ["ledger.verify_ledger"],
    # Administrators configure programs, users and reference data; they do not act
    # on files (no transition permission), so their duties stay separate.
    Role.ADMIN: _READ_ALL + _UNLOCK_SIGN_INS + [
        "workflow.add_program", "workflow.change_program",
        "workflow.add_commune", "workflow.change_commune",
        "workflow.add_activitysector", "workflow.change_activitysector",
        "training.add_trainingmodule", "training.change_trainingmodule",
        "training.add_programmodule", "training.change_programmodule",
        *_CONFIGURE_DEADLINES,
        "auth.view_user", "auth.add_user", "auth.change_user", "auth.view_group",
        "access.view_account", "access.manage_roles",
        # Another person's second factor, when they lost it (twofactor.services).
        "twofactor.reset_second_factor",
    ],
}

# The roles that act on files (every one but the two that watch over the others).
OPERATIONAL_ROLES = frozenset(ROLE_PERMISSIONS) - {Role.ADMIN, Role.AUDITOR}

# Separation of duties between roles: a role and the roles no one may hold with it.
# Administrators configure the program and the people; auditors check everything.
# Neither acts on files, and neither is the other. The money roles may be held
# together: the three people of one disbursement are kept apart per disbursement
# (disbursements.services), which is what the law asks.
EXCLUDES = {
    Role.ADMIN: OPERATIONAL_ROLES | {Role.AUDITOR},
    Role.AUDITOR: OPERATIONAL_ROLES | {Role.ADMIN},
}

# The roles whose grant takes a second administrator's approval: the committee's, the
# money's and the auditor's, and the administrator's own.
NEEDS_SECOND_ADMIN = frozenset({
    Role.COMMITTEE_MEMBER, Role.COMMITTEE_CHAIR, Role.FINANCE_OFFICER, Role.AUTHORIZING_OFFICER,
    Role.TREASURER, Role.AUDITOR, Role.ADMIN,
})

# The roles that decide, pay, check or configure: their people sign in with a second
# factor (TOTP or a passkey) and give it again at every step-up (docs/security.md).
# Superusers too, whatever their roles (``needs_second_factor``).
SECOND_FACTOR_ROLES = frozenset({
    Role.COMMITTEE_MEMBER, Role.COMMITTEE_CHAIR, Role.FINANCE_OFFICER, Role.AUTHORIZING_OFFICER,
    Role.TREASURER, Role.AUDITOR, Role.ADMIN,
})


def excluded_by(role) -> frozenset:
    """The roles that cannot be held together with ``role`` (the table read both ways)."""
    role = Role(role)
    found = set(EXCLUDES.get(role, ()))
    found |= {other for other, excluded in EXCLUDES.items() if role in excluded}
    return frozenset(found)


def conflicts(roles) -> list[tuple[Role, Role]]:
    """The pairs of ``roles`` (names or Roles) that the table keeps apart, each once."""
    held = sorted({Role(r) for r in roles if r in Role.values}, key=list(Role).index)
    return [(a, b) for i, a in enumerate(held) for b in held[i + 1:] if b in excluded_by(a)]


def sync_roles(apps, schema_editor=None, *, strict=True):
    """Create each role's group and give it exactly the permissions of the table.

    Usable from a data migration (historical ``apps``) and at run time
    (``django.apps.apps``). Idempotent. A migration that runs before every app's models
    exist passes ``strict=False`` to skip the permissions of those apps; each app's own
    roles migration applies the table again once its models exist.
    """
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():
        # create_permissions skips apps without a models module; historical app configs
        # have none, live ones do and must keep it.
        previous = getattr(app_config, "models_module", None)
        app_config.models_module = previous or True
        try:
            create_permissions(app_config, apps=apps, verbosity=0)
        finally:
            app_config.models_module = previous
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, perms in ROLE_PERMISSIONS.items():
        group, _created = Group.objects.get_or_create(name=role.value)
        found = []
        for perm in perms:
            app_label, codename = perm.split(".")
            permission = Permission.objects.filter(
                content_type__app_label=app_label, codename=codename
            ).first()
            if permission is None:
                if strict:
                    raise LookupError(f"role {role.value}: unknown permission {perm}")
                continue
            found.append(permission)
        group.permissions.set(found)


def roles_of(user) -> set[str]:
    """The role names a user holds (cached on the user object for the request)."""
    if not hasattr(user, "_tamkeen_roles"):
        user._tamkeen_roles = set(user.groups.values_list("name", flat=True)) if user.pk else set()
    return user._tamkeen_roles


def needs_second_factor(user) -> bool:
    """Whether ``user`` must have a second factor: a superuser, or one holding a role of
    ``SECOND_FACTOR_ROLES``."""
    if not user.is_authenticated:
        return False
    return user.is_superuser or bool(roles_of(user) & {role.value for role in SECOND_FACTOR_ROLES})


def role_for(user, perm: str) -> str:
    """The role in which ``user`` exercises ``perm``: the first of their roles granting it."""
    held = roles_of(user)
    for role, perms in ROLE_PERMISSIONS.items():
        if role.value in held and perm in perms:
            return role.value
    if user.is_superuser:
        return "superuser"
    return sorted(held)[0] if held else "none"


def sync_roles_in_migration(apps, schema_editor):
    """For data migrations: apply the table, skipping apps not migrated yet."""
    sync_roles(apps, schema_editor, strict=False)
