"""Coded errors of committee review (on top of core.exceptions)."""

from django.utils.translation import gettext_lazy as _

from core.exceptions import (
    ConcurrentUpdate,
    InvalidInput,
    PermissionDenied,
    ReauthenticationFailed,
    TamkeenError,
    TooManyAttempts,
    TransitionNotAllowed,
)

__all__ = [
    "DecisionOutdated", "DecisionsMissing", "InvalidInput", "MinutesOutdated", "NotAMember", "NotPresent",
    "ReauthenticationFailed", "TooManyAttempts", "Recused", "TransitionNotAllowed", "UndeclaredInterest",
]


class NotAMember(PermissionDenied):
    code = "not_a_member"
    default_message = _("You are not a member of this committee.")


class NotPresent(PermissionDenied):
    code = "not_present"
    default_message = _("Only members recorded as present can vote.")


class Recused(PermissionDenied):
    code = "recused"
    default_message = _("You declared a conflict of interest on this file and are recused from it.")


class UndeclaredInterest(TamkeenError):
    code = "interest_not_declared"
    default_message = _("Declare whether you have a conflict of interest on this file before voting.")


class DecisionsMissing(TamkeenError):
    code = "decisions_missing"
    default_message = _("Every file on the agenda needs a confirmed decision before the session closes.")


class DecisionOutdated(TamkeenError):
    code = "decision_outdated"
    default_message = _("Votes changed after the decision was confirmed: confirm it again.")


class MinutesOutdated(ConcurrentUpdate):
    """The session changed (votes, attendance, a file's state) while its minutes were
    being rendered, twice in a row: nothing is closed, the chair closes it again."""

    code = "minutes_outdated"
    default_message = _("The session changed while its minutes were being prepared: close it again.")
