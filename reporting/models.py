"""The program dashboard's figures, kept (``reporting.services``).

Derived, operational data, not evidence: every figure here is recomputed from the
projects, visits and reports by ``reporting.selectors`` and can be thrown away and
rebuilt at any time (``manage.py refresh_dashboards``). Nothing is signed, nothing is
read by a guard or a service that decides anything; the audit ledger stays the
evidence and the envelope ledger the money (the dashboard reads the money live).
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class ProgramFigures(models.Model):
    """The last figures computed for one program's dashboard, and how far into the
    ledger they look: the beat task recomputes a program whose files have audit entries
    the figures may not include (``reporting.changes``).

    ``figures`` is ``reporting.snapshot``'s JSON: keys and counts, Decimals as strings
    (never floats), no label — labels are translated when the page is drawn, in the
    reader's language."""

    program = models.OneToOneField(
        "workflow.Program", on_delete=models.CASCADE, primary_key=True, related_name="dashboard_figures",
        verbose_name=_("program"),
    )
    # When the consistent read the figures come from began.
    computed_at = models.DateTimeField(_("computed at"))
    figures = models.JSONField(_("figures"))
    # The ledger as that read saw it: the newest entry id and, on PostgreSQL, the oldest
    # transaction still running then (``pg_snapshot_xmin``): an entry of that transaction
    # or a later one may be missing from the figures, every older one is in them.
    ledger_id = models.BigIntegerField(_("newest audit entry seen"), default=0)
    ledger_horizon = models.BigIntegerField(_("oldest transaction not seen"), null=True, blank=True)
    # On PostgreSQL, that read's whole snapshot (``pg_current_snapshot()``, "xmin:xmax:xip,…"):
    # an entry of a transaction older than the horizon is in the figures, and so is one of
    # a later transaction that had committed (below xmax, not in progress) when they were read.
    ledger_snapshot = models.TextField(_("ledger snapshot"), blank=True)
    # The last time the beat found the program unchanged since then.
    checked_at = models.DateTimeField(_("checked at"))

    class Meta:
        verbose_name = _("program dashboard figures")
        verbose_name_plural = _("program dashboard figures")

    def __str__(self):
        return f"{self.program_id} @ {self.computed_at:%Y-%m-%d %H:%M:%S}"
