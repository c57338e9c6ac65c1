"""A person's account: the audit chain of what they may do.

Roles are Django groups (``core.roles``). They change only through
``access.services``: each grant, refusal and revocation — and each superuser made by
the ``create_user`` command — is a signed entry on the person's ``Account`` chain, with
who did it, why and when. A grant of a role listed in ``core.roles.NEEDS_SECOND_ADMIN``
waits, as a ``RoleRequest``, for a second administrator's approval.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from core.roles import Role
from ledger.models import AuditedModel

MANAGE = "access.manage_roles"


class AccountState(models.TextChoices):
    ACTIVE = "active", _("active")


class Account(ConcurrentTransitionMixin, AuditedModel):
    """One per person, made on their first audited change; its primary key is the
    user's id, so its chain is found from the user."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, primary_key=True,
                                related_name="account", verbose_name=_("user"))
    # The audited acts below leave the state as it is: the chain is the record.
    state = FSMField(_("state"), default=AccountState.ACTIVE, choices=AccountState.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("account")
        verbose_name_plural = _("accounts")
        permissions = [("manage_roles", _("Can grant and revoke roles"))]

    def __str__(self):
        return str(self.user)

    # --- Audited acts (target=None: the state stays as it was) ----------------------
    @transition(field=state, source=AccountState.ACTIVE, target=None, permission=MANAGE)
    def request_role(self):
        pass

    @transition(field=state, source=AccountState.ACTIVE, target=None, permission=MANAGE)
    def grant_role(self):
        pass

    @transition(field=state, source=AccountState.ACTIVE, target=None, permission=MANAGE)
    def refuse_role(self):
        pass

    @transition(field=state, source=AccountState.ACTIVE, target=None, permission=MANAGE)
    def revoke_role(self):
        pass

    # By the operator at the server (manage.py create_user), not in the application.
    @transition(field=state, source=AccountState.ACTIVE, target=None)
    def set_by_operator(self):
        pass


class RoleRequest(models.Model):
    """A grant waiting for a second administrator (``core.roles.NEEDS_SECOND_ADMIN``)."""

    class Status(models.TextChoices):
        PENDING = "pending", _("waiting for approval")
        APPROVED = "approved", _("approved")
        REFUSED = "refused", _("refused")

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="requests",
                                verbose_name=_("account"))
    role = models.CharField(_("role"), max_length=40, choices=Role.choices)
    reason = models.TextField(_("reason"))
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                     verbose_name=_("requested by"))
    requested_at = models.DateTimeField(_("requested at"), auto_now_add=True)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.PENDING)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+", verbose_name=_("decided by"))
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_reason = models.TextField(_("reason of the decision"), blank=True)

    class Meta:
        verbose_name = _("role request")
        verbose_name_plural = _("role requests")
        ordering = ["-requested_at", "-pk"]
        constraints = [
            # One open request per person and role.
            models.UniqueConstraint(fields=["account", "role"], condition=models.Q(status="pending"),
                                    name="access_one_pending_request_per_role"),
            models.CheckConstraint(
                condition=~models.Q(status="pending") | models.Q(decided_by__isnull=True),
                name="access_pending_request_undecided"),
        ]

    def __str__(self):
        return f"{self.account} — {self.get_role_display()}"
