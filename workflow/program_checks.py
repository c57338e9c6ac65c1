"""Checks of a program's settings that an app above workflow owns.

``Program.clean`` (the admin's program form, ``full_clean``) validates what workflow
knows of a program. One limit depends on records another app owns: the envelope cannot
be lowered below what its ledger holds committed, and the envelope ledger belongs to
``disbursements``. workflow never imports that app, not even inside a function:
disbursements registers its check here from its ``AppConfig.ready``, and
``Program.clean`` runs every registered check with the others.

A check is ``check(program) -> dict[str, str]``: the translated error of each program
field it finds wrong, empty when none is.
"""

_registered: list = []


def register(check) -> None:
    """Run ``check`` whenever a program is validated (registering it twice keeps one)."""
    if check not in _registered:
        _registered.append(check)


def problems(program) -> dict[str, list[str]]:
    """The errors every registered check finds with ``program``, by field."""
    errors: dict[str, list[str]] = {}
    for check in _registered:
        for field, message in check(program).items():
            errors.setdefault(field, []).append(message)
    return errors
