"""The audit ledger's rows. Append-only: the model refuses updates and deletes."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class AppendOnlyError(Exception):
    pass


class AuditEntryQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError("audit entries cannot be updated")

    def delete(self):
        raise AppendOnlyError("audit entries cannot be deleted")

    def for_entity(self, entity):
        return self.filter(entity_type=entity_type_of(entity), entity_id=str(entity.pk))


def entity_type_of(entity) -> str:
    return entity._meta.label_lower


class AuditEntry(models.Model):
    entity_type = models.CharField(_("entity type"), max_length=60)
    entity_id = models.CharField(_("entity id"), max_length=40)
    seq = models.PositiveIntegerField(_("sequence in the entity's chain"))
    transition = models.CharField(_("transition"), max_length=60)
    from_state = models.CharField(_("from state"), max_length=30, blank=True)
    to_state = models.CharField(_("to state"), max_length=30)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+",
        verbose_name=_("actor"),
    )
    actor_role = models.CharField(_("role"), max_length=40)
    request_id = models.CharField(_("request id"), max_length=64, blank=True)
    payload = models.JSONField(_("payload"), default=dict)
    created_at = models.DateTimeField(_("time"))

    objects = AuditEntryQuerySet.as_manager()

    class Meta:
        ordering = ["entity_type", "entity_id", "seq"]
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")
        constraints = [
            models.UniqueConstraint(
                fields=["entity_type", "entity_id", "seq"], name="audit_entry_contiguous_chain"
            ),
        ]
        indexes = [models.Index(fields=["actor", "created_at"])]
        permissions = [("verify_ledger", "Can verify the audit ledger")]

    def __str__(self):
        return f"{self.entity_type}#{self.entity_id}/{self.seq} {self.transition}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyError("audit entries cannot be updated")
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("audit entries cannot be deleted")
