"""What a person may do on a grant file now (``project_actions``).

The file's own transitions come from its state machine (``ledger.transitions.
transition_options``): each one that leaves the current state and has a screen here
is offered to the roles that hold its permission, with the reason when a condition
is not met. The apps above workflow add theirs (funding, training, follow-up) through
``register``, from their ``AppConfig.ready``, as they do for task services.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from core.actions import Action
from core.exceptions import PermissionDenied
from ledger.transitions import transition_options


@dataclass(frozen=True)
class Screen:
    """The screen of one transition: its label, URL name (``<namespace>:<name>``,
    reversed with the project's id), the sentence it asks to confirm."""

    label: object
    url_name: str
    confirm: object = ""
    danger: bool = False
    stepup: bool = False


# Transitions of the file with a screen of workflow's own, filled at start-up by
# ``workflow.apps.register_screens``. The committee's (schedule, defer, decide_*),
# training's, funding's and follow-up's transitions are offered by their apps'
# screens and tasks.
SCREENS: dict[str, Screen] = {}

_providers: list = []


def register(provider) -> None:
    """Add ``provider(project, user) -> iterable[Action]`` to every file's actions."""
    if provider not in _providers:
        _providers.append(provider)


def register_screen(transition: str, screen: Screen) -> None:
    SCREENS[transition] = screen


def _reason(error) -> str:
    if not error:
        return ""
    if isinstance(error, PermissionDenied):
        return str(_("Your role does not take this step."))
    failures = getattr(error, "failures", None)
    if failures:
        return "; ".join(message for _code, message in failures)
    return str(error.message)


def unavailable_reason(project, user, transition: str) -> str:
    """Why ``user`` cannot take ``transition`` on ``project`` now, or ``""``: what the
    transition's own screen says above its form."""
    options = transition_options(project, user, [transition])
    if transition not in options:
        return str(_("Not possible while the file is “%(state)s”.") % {"state": project.get_state_display()})
    return _reason(options[transition])


def transition_actions(project, user, *, other_roles=False) -> list[Action]:
    """The file's transitions that have a screen, offered from its current state."""
    options = transition_options(project, user, list(SCREENS))
    actions = []
    for name, error in options.items():
        if isinstance(error, PermissionDenied) and not other_roles:
            continue
        screen = SCREENS[name]
        actions.append(Action(
            name=name, label=str(screen.label), url=reverse(screen.url_name, args=[project.pk]),
            reason=_reason(error), confirm=str(screen.confirm), danger=screen.danger, stepup=screen.stepup,
        ))
    return actions


def project_actions(project, user, *, other_roles=False) -> list[Action]:
    """Everything ``user`` may do on ``project`` now, available ones first; with
    ``other_roles``, also the steps of roles ``user`` does not hold."""
    actions = transition_actions(project, user, other_roles=other_roles)
    for provider in _providers:
        actions.extend(provider(project, user))
    return sorted(actions, key=lambda action: (not action.available, action.danger))
