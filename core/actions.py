"""What a person may do on an object now: the actions its page offers.

Each app's ``actions`` module has one selector per object it owns (a file, a session,
an order, a disbursement) returning ``Action`` rows: the ones the user may take now,
and — for the roles that could take them — the ones that are unavailable, with the
reason (wrong state, separation of duties, a missing precondition). Pages render that
list; templates do not test state names.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Action:
    """One thing a user may do on an object, or could do once ``reason`` is lifted.

    ``name`` is stable (the transition or service it leads to); ``label`` is for people;
    ``url`` opens the screen that takes it; ``confirm`` is the sentence an irreversible
    action asks the user to confirm; ``stepup`` says the screen asks for the password.
    """

    name: str
    label: str
    url: str = ""
    reason: str = ""
    confirm: str = ""
    stepup: bool = False
    danger: bool = False

    @property
    def available(self) -> bool:
        return not self.reason


def available(actions) -> list[Action]:
    return [action for action in actions if action.available]


def named(actions, name) -> Action | None:
    return next((action for action in actions if action.name == name), None)
