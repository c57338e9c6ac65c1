"""Notifications the lower apps' signals ask for.

A lower app never calls ``notify``: it sends a signal of its own and the receivers here
(connected in ``NotificationsConfig.ready``) write the notifications, inside the
sender's transaction, so a report and its notifications commit or roll back together.
"""

from django.contrib.auth import get_user_model
from django.dispatch import receiver
from django.urls import reverse

from core.roles import Role
from followup.models import RiskReason, VisitReport
from followup.signals import visit_at_risk
from notifications.models import NotificationKind
from notifications.services import notify


@receiver(visit_at_risk, sender=VisitReport, dispatch_uid="notifications.receivers.at_risk")
def notify_at_risk(sender, project, visit, report, **kwargs):
    """Tell every program officer, in their language, that a report flags the project
    at risk; once per visit and officer (the dedupe key), emailed by the next tick."""
    officers = get_user_model().objects.filter(groups__name=Role.PROGRAM_OFFICER.value, is_active=True)
    labels = [RiskReason(r).label if r in RiskReason.values else r for r in report.risk_reasons]
    for officer in officers.distinct().order_by("pk"):
        notify(
            recipient=officer, kind=NotificationKind.AT_RISK,
            dedupe_key=f"at_risk:visit:{visit.pk}:u{officer.pk}", template="at_risk",
            context={"reference": project.reference, "title": project.title, "sequence": visit.sequence,
                     "visited_on": report.visited_on, "reasons": labels},
            link=reverse("followup:project", args=[project.pk]),
        )
