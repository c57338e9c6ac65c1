"""Notifications the lower apps' signals ask for.

A lower app never calls ``notify``: it sends a signal of its own and the receivers here
(connected in ``NotificationsConfig.ready``) write the notifications, inside the
sender's transaction, so a report and its notifications commit or roll back together.
"""

from django.contrib.auth import get_user_model
from django.dispatch import receiver
from django.urls import reverse

from core.roles import Role
from followup.models import VisitReport
from followup.signals import visit_at_risk
from ledger.signals import chain_broken, checkpoint_signed, integrity_alert
from notifications.models import NotificationKind
from notifications.services import notify


@receiver(visit_at_risk, sender=VisitReport, dispatch_uid="notifications.receivers.at_risk")
def notify_at_risk(sender, project, visit, report, **kwargs):
    """Tell every program officer, in their language, that a report flags the project
    at risk; once per visit and officer (the dedupe key), emailed by the next tick."""
    officers = get_user_model().objects.filter(groups__name=Role.PROGRAM_OFFICER.value, is_active=True)
    for officer in officers.distinct().order_by("pk"):
        notify(
            recipient=officer, kind=NotificationKind.AT_RISK,
            dedupe_key=f"at_risk:visit:{visit.pk}:u{officer.pk}", template="at_risk",
            params={"project": project.pk, "sequence": visit.sequence,
                    "visited_on": report.visited_on.isoformat(), "reasons": list(report.risk_reasons)},
            link=reverse("followup:project", args=[project.pk]),
        )


@receiver(integrity_alert, dispatch_uid="notifications.receivers.ledger_alert")
def notify_ledger_alert(sender, code, message, size, **kwargs):
    """Tell every auditor that the ledger's history differs from what was signed (the
    integrator refused to sign, or a witness to cosign): once per problem and size."""
    for auditor in _auditors():
        notify(recipient=auditor, kind=NotificationKind.LEDGER_ALERT,
               dedupe_key=f"ledger_alert:{code}:{size}:u{auditor.pk}", template="ledger_alert",
               params={"code": code, "message": str(message)})


@receiver(chain_broken, dispatch_uid="notifications.receivers.chain_broken")
def notify_chain_broken(sender, entity_type, entity_id, last_seq, problem, **kwargs):
    """Tell every auditor that a chain's verification found it broken (the scheduled
    verification runs unattended): once per chain and length."""
    link = reverse("projects:detail", args=[entity_id]) if entity_type == "workflow.grantproject" else ""
    for auditor in _auditors():
        notify(recipient=auditor, kind=NotificationKind.LEDGER_ALERT,
               dedupe_key=f"chain_broken:{entity_type}:{entity_id}:{last_seq}:u{auditor.pk}", template="chain_alert",
               params={"entity_type": entity_type, "entity_id": entity_id, "seq": problem.get("seq"),
                       "code": problem.get("code", ""), "message": str(problem.get("message", ""))},
               link=link)


@receiver(checkpoint_signed, dispatch_uid="notifications.receivers.checkpoint")
def notify_checkpoint(sender, checkpoint, **kwargs):
    """Every new checkpoint goes to the auditors (by email; read already in the
    application): a copy outside the database they can compare a later ledger with."""
    for auditor in _auditors():
        notification = notify(
            recipient=auditor, kind=NotificationKind.CHECKPOINT, dedupe_key=f"checkpoint:{checkpoint.pk}:u{auditor.pk}",
            template="checkpoint",
            params={"checkpoint": checkpoint.pk, "size": checkpoint.size},
        )
        if notification is not None:
            notification.read_at = notification.created_at
            notification.save(update_fields=["read_at"])


def _auditors():
    return get_user_model().objects.filter(groups__name=Role.AUDITOR.value, is_active=True).distinct().order_by("pk")
