"""The audited state machines, described for the verifier.

Each audited model registers here (the workflow app registers ``GrantProject``; other
apps register theirs in ``AppConfig.ready``). The description is read from the model's
django-fsm transitions, so the replay check follows the code.

``transition_table`` reads a model's transitions through django-fsm's public API
(``FSMField.get_all_transitions``); services use it to find a transition's state field,
permission and guards without reaching into django-fsm's private attributes.
"""

import functools
from dataclasses import dataclass

from django.apps import apps
from django.db.models import CharField, Exists, OuterRef, Q
from django.db.models.functions import Cast
from django_fsm import FSMFieldMixin

_REGISTRY: dict[str, dict] = {}


def register(model_label: str, *, state_field: str = "state", restores: dict | None = None,
             chain_may_start_later: bool = False) -> None:
    """Audit ``model_label``'s machine. ``restores`` maps a transition to the one whose
    source state it must return to (``{"resume": "suspend"}``).

    ``chain_may_start_later``: a row may have no chain yet while it is still in the
    initial state — rows created before the model was audited (configuration such as
    programs, also made by fixtures and the demo seed); its chain then starts with its
    first audited change. Such a row is left out of the live states the replay is
    compared with. Once it has a chain, or once it is in any other state, it is
    verified like any other: a state changed without an entry is still found."""
    _REGISTRY[model_label.lower()] = {"state_field": state_field, "restores": restores or {},
                                      "chain_may_start_later": chain_may_start_later}


def state_field_name(model) -> str:
    """The name of the state field the ledger follows for ``model``."""
    return _REGISTRY[model._meta.label_lower]["state_field"]


def awaits_first_entry(entity) -> bool:
    """Whether ``entity`` is a row whose chain has not started yet, as its model allows
    (``chain_may_start_later``): still in its machine's initial state, with no entry."""
    from ledger.models import AuditEntry

    spec = _REGISTRY.get(type(entity)._meta.label_lower)
    if not spec or not spec["chain_may_start_later"]:
        return False
    field = type(entity)._meta.get_field(spec["state_field"])
    return (getattr(entity, field.attname) == field.default
            and not AuditEntry.objects.for_entity(entity).exists())


@dataclass(frozen=True)
class TransitionSpec:
    """One named transition of a model: its state field, its permission, and the
    django-fsm ``Transition`` declared for each source state."""

    name: str
    field: FSMFieldMixin
    permission: object
    by_source: dict

    def for_state(self, state):
        """The transition that applies from ``state``, with django-fsm's wildcards
        (``*`` any state, ``+`` any state but the target); ``None`` when none does."""
        found = self.by_source.get(state) or self.by_source.get("*")
        plus = self.by_source.get("+")
        if found is None and plus is not None and plus.target != state:
            found = plus
        return found

    @property
    def sources(self):
        return list(self.by_source)


@functools.cache
def transition_table(model) -> dict:
    """{transition name: TransitionSpec} for every django-fsm transition of ``model``."""
    specs: dict = {}
    for field in model._meta.fields:
        if not isinstance(field, FSMFieldMixin):
            continue
        for transition in field.get_all_transitions(model):
            spec = specs.setdefault(transition.name, {"field": field, "permission": transition.permission,
                                                      "by_source": {}})
            spec["by_source"][transition.source] = transition
    return {name: TransitionSpec(name=name, **spec) for name, spec in specs.items()}


def transition_spec(model, name: str) -> TransitionSpec:
    try:
        return transition_table(model)[name]
    except KeyError:
        raise LookupError(f"{model._meta.label} has no transition {name!r}") from None


def audited_models():
    """[(entity type, model, spec)] for every audited machine, by entity type."""
    from ledger.models import entity_type_of

    found = [(entity_type_of(apps.get_model(label)), apps.get_model(label), spec) for label, spec in _REGISTRY.items()]
    return sorted(found, key=lambda item: item[0])


def _targets(source, transition) -> list[str]:
    target = transition.target
    if target is None:  # the transition checks the state and leaves it as it was
        return [source]
    allowed = getattr(target, "allowed_states", None)
    if allowed is not None:
        return sorted(allowed)
    return [target]


def definitions() -> dict:
    """{entity type: {"initial", "transitions": [{"name", "sources", "targets"}], "restores",
    "keeps_state"}}"""
    result = {}
    for label, model, spec in audited_models():
        field = model._meta.get_field(spec["state_field"])
        transitions = {}
        for spec_ in transition_table(model).values():
            if spec_.field is not field:
                continue
            for source, transition in spec_.by_source.items():
                item = transitions.setdefault(transition.name, {"name": transition.name, "sources": set(),
                                                                "targets": set(), "keeps": True})
                item["sources"].add(source)
                targets = _targets(source, transition)
                item["targets"].update(targets)
                item["keeps"] = item["keeps"] and targets == [source]
        result[label] = {
            "initial": field.default,
            "transitions": [
                {"name": t["name"], "sources": sorted(t["sources"]), "targets": sorted(t["targets"])}
                for t in sorted(transitions.values(), key=lambda t: t["name"])
            ],
            "restores": spec["restores"],
            # Transitions that record an act without moving the state (a vote, a declaration).
            "keeps_state": sorted(t["name"] for t in transitions.values() if t["keeps"]),
        }
    return result


def live_states() -> dict:
    """{entity type: {id: state}} as the database holds them now (without the rows whose
    chain may start later and has not: see ``register``)."""
    return {
        label: {str(pk): state for pk, state in _live_rows(label, model, spec).values_list("pk", spec["state_field"])}
        for label, model, spec in audited_models()
    }


def _live_rows(entity_type, model, spec):
    rows = model._default_manager.all()
    if not spec["chain_may_start_later"]:
        return rows
    from ledger.models import AuditEntry

    field = model._meta.get_field(spec["state_field"])
    chain = AuditEntry.objects.filter(entity_type=entity_type, entity_id=Cast(OuterRef("pk"), CharField()))
    return rows.exclude(Q(**{field.name: field.default}) & ~Exists(chain))
