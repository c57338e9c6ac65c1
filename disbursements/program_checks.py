"""What a program's settings must respect of the envelope ledger, registered with
``workflow.program_checks`` when the app starts (``disbursements.apps``): the program's
form in the admin and ``Program.full_clean`` refuse an envelope lowered below what is
already committed against it."""

from django.utils.translation import gettext as _

from core.money import amount_in_message
from disbursements.selectors import committed_amount


def envelope_covers_commitments(program) -> dict[str, str]:
    """The envelope of a saved program is at least what its ledger holds committed."""
    if program.pk is None or program.envelope is None:
        return {}
    committed = committed_amount(program)
    if program.envelope < committed:
        return {"envelope": _("The envelope cannot be lower than the %(committed)s MAD already committed.")
                % {"committed": amount_in_message(committed)}}
    return {}
