"""Checks of a program's settings that an app above workflow owns.

``Program.clean`` (the admin's program form, ``full_clean``) validates what workflow
knows of a program. One limit depends on records another app owns: the envelope cannot
be lowered below what its ledger holds committed, and the envelope ledger belongs to
``disbursements``. workflow never imports that app, not even inside a function:
disbursements registers its check here from its ``AppConfig.ready``, and
``Program.clean`` runs every registered check with the others; the program services
(``workflow.services.programs``) refuse a change that breaks one with the check's code.

A check is ``check(program) -> dict[str, str]``: the translated error of each program
field it finds wrong, empty when none is.
"""

from dataclasses import dataclass

DEFAULT_CODE = "program_check_failed"

_registered: dict = {}


@dataclass(frozen=True)
class Failure:
    code: str
    field: str
    message: str


def register(check, *, code: str = DEFAULT_CODE) -> None:
    """Run ``check`` whenever a program is validated; a service refusing what it finds
    says ``code`` (registering it again keeps one)."""
    _registered[check] = code


def failures(program) -> list[Failure]:
    """What every registered check finds wrong with ``program``, with the check's code."""
    return [
        Failure(code, field, message)
        for check, code in _registered.items()
        for field, message in check(program).items()
    ]


def problems(program) -> dict[str, list[str]]:
    """The errors every registered check finds with ``program``, by field."""
    errors: dict[str, list[str]] = {}
    for failure in failures(program):
        errors.setdefault(failure.field, []).append(failure.message)
    return errors
