"""Signals of post-launch follow-up, for the apps above it to react to.

Follow-up never calls a higher app: it says what happened and the app that owns the
reaction listens (``notifications`` connects its receivers in its ``AppConfig.ready``).
"""

from django.dispatch import Signal

# Sent inside the report's transaction when a visit report flags the project at risk:
# sender=VisitReport, project, visit, report.
visit_at_risk = Signal()
