"""The services behind the grant flow's task screens that other apps own.

Two human steps of ``GrantFlow`` whose screens workflow shows move the project through a
transition whose guard reads another app's facts, so the service that applies it lives
in that app: the training sign-off (``training.services.project_complete_training``,
which hands in the attendance) and the launch (``followup.services.project_launch``,
which makes the follow-up plan). The closure's screen is follow-up's own. workflow never imports
those apps, not even inside a function: each registers its service here from its
``AppConfig.ready``, and the task screen (``workflow.views.tasks``) calls what is
registered for its step. A step nobody registered is a configuration error, raised when
its screen is posted.

Each service is called with keyword arguments: ``project_id`` and ``actor``, plus
``note`` for the launch.
"""

from django.core.exceptions import ImproperlyConfigured

TRAINING_SIGNOFF = "training_signoff"
LAUNCH = "launch"
STEPS = (TRAINING_SIGNOFF, LAUNCH)

_registered: dict = {}


def register(step: str, service) -> None:
    """Make ``service`` the one that does ``step`` (one of ``STEPS``), once."""
    if step not in STEPS:
        raise ImproperlyConfigured(f"{step!r} is not a step done by another app's service")
    if _registered.get(step, service) is not service:
        raise ImproperlyConfigured(f"the {step!r} step already has a service: {_registered[step]!r}")
    _registered[step] = service


def service_for(step: str):
    try:
        return _registered[step]
    except KeyError:
        raise ImproperlyConfigured(f"no service is registered for the {step!r} step of the grant flow") from None
