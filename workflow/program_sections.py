"""What the apps above workflow show on a program's page: its committees (approvals),
its training plan (training).

workflow never imports those apps, not even inside a function: each registers a
provider here from its ``AppConfig.ready``, and the program page
(``workflow.views.programs``) renders what the providers return, in ``order``. A
provider is ``provider(program, user) -> ProgramSection | None`` (None: nothing to show
to this user).
"""

from dataclasses import dataclass, field

from django.urls import reverse

_providers: list = []


@dataclass(frozen=True)
class ProgramSection:
    """A card of the program's page: its title, the template that renders it (given
    ``section``, so it reads ``section.context``) and what the user may do from it
    (``core.actions.Action`` rows)."""

    key: str
    title: str
    template_name: str
    context: dict = field(default_factory=dict)
    actions: tuple = ()
    order: int = 100


def register(provider) -> None:
    """Add ``provider`` to every program's page (registering it twice keeps one)."""
    if provider not in _providers:
        _providers.append(provider)


def sections(program, user) -> list[ProgramSection]:
    found = [provider(program, user) for provider in _providers]
    return sorted((section for section in found if section is not None), key=lambda s: (s.order, s.key))


def program_page_url(program_id) -> str:
    """The program's page."""
    return reverse("programs:detail", args=[program_id])
