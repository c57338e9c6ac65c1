from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DisbursementsConfig(AppConfig):
    name = "disbursements"
    verbose_name = _("Funding and disbursements")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from disbursements import folds
        from ledger import machines

        machines.register("disbursements.purchaseorder", fold=folds.PURCHASE_ORDER)
        machines.register("disbursements.disbursement", fold=folds.DISBURSEMENT)
        # A program's envelope is not lowered below what its ledger holds committed.
        from disbursements.program_checks import envelope_covers_commitments
        from workflow import program_checks

        program_checks.register(envelope_covers_commitments, code="envelope_below_committed")
        # The tranches' and the orders' flows follow their transitions in every process.
        from disbursements import flows  # noqa: F401

        # The file's page offers the equipment plan, the funding pages and the
        # confirmation that the equipment is received.
        from disbursements.actions import project_funding_actions
        from workflow import actions

        actions.register(project_funding_actions)
        # Orders and tranches belong to a file: an agent or a mentor acts on those of
        # the files they work on (core.scopes).
        from core import scopes
        from workflow.scopes import on_file

        for label in ("disbursements.purchaseorder", "disbursements.disbursement"):
            scopes.register(label, limits=on_file(lambda obj: obj.project), message=scopes.NOT_YOUR_FILE,
                            code="not_your_file")
