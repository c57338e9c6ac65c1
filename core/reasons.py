"""Reasons the system writes itself (a committee that found no majority, a deferral nobody
explained), stored as a code with parameters and translated when shown.

A person's reason is their own text and is shown as written. A reason the system writes
is stored as ``reason_code`` (and ``reason_params``: numbers and codes) next to a text
in English, the msgid, for readers that know no code (an export, an old verifier); pages
and documents show ``reason_text(...)`` in their reader's language. Entries written before
the codes existed have only their text and keep it.
"""

from django.utils.translation import gettext_lazy as _

NO_QUORUM, TIE, NO_MAJORITY, NO_DECISION = "no_quorum", "tie", "no_majority", "no_decision"

SYSTEM_REASONS = {
    NO_QUORUM: _("no quorum"),
    TIE: _("tie"),
    NO_MAJORITY: _("no majority"),
    NO_DECISION: _("No decision: deferred."),
}


def reason_text(code="", params=None, text="") -> str:
    """The reason to show in the active language: the code's message (with its
    parameters) when it has a known code, else the stored ``text``."""
    message = SYSTEM_REASONS.get(code or "")
    if message is None:
        return str(text or "")
    return str(message) % params if params else str(message)


def reason_english(code, params=None) -> str:
    """The code's message in English, stored as the reason's text next to its code."""
    from django.utils import translation

    with translation.override("en"):
        return reason_text(code, params)
