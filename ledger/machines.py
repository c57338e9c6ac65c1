"""The audited state machines, described for the verifier.

Each audited model registers here (the workflow app registers ``GrantProject``; other
apps register theirs in ``AppConfig.ready``). The description is read from the model's
django-fsm transitions, so the replay check follows the code.

``transition_table`` reads a model's transitions through django-fsm's public API
(``FSMField.get_all_transitions``); services use it to find a transition's state field,
permission and guards without reaching into django-fsm's private attributes.

Besides the state, a machine declares its *fold* (``Fold``): which audited fields of its
row the chain determines — from which payload key of which transition, or from the
entry's actor ("the person who did transition X"). The verifiers fold each chain's
payloads into those fields and compare them, with the chain head (``audit_seq``,
``audit_head``), to the live row (``live_states``): a field changed in the database
without an entry, or a chain whose tail was cut off, is found.
"""

import functools
from dataclasses import dataclass
from decimal import Decimal

from django.apps import apps
from django.db import models
from django.db.models import CharField, Exists, OuterRef, Q
from django.db.models.functions import Cast
from django_fsm import FSMFieldMixin

from ledger.payload import to_jsonable

_REGISTRY: dict[str, dict] = {}


# --- Folds: the audited fields the chain determines -------------------------------------


@dataclass(frozen=True)
class Fold:
    """One field of an audited row that its chain determines.

    ``set`` maps a transition (``"create"`` for the entry that opens the chain) to where
    the field's value comes from when that transition is recorded: ``payload("key")``,
    ``actor()`` (the entry's actor id), ``const(value)`` or ``source_state()`` (the
    state the entry leaves). A transition not listed leaves the field as it was; until
    one sets it, the field is unknown and not compared. Declare only fields no other
    write changes, each set by every transition that changes it.

    ``lookup``: the ORM path of the live value when it is not the field itself (a
    related row's unchanging code, e.g. ``"program__code"``). How values are written
    (``kind``) follows the model field: ids as ints or null, decimals as strings with
    the field's places, dates and times as the payloads write them, other values as
    they are in JSON."""

    field: str
    set: dict
    lookup: str | None = None


def payload(*path: str, keep: bool = False) -> dict:
    """The value at ``path`` in the entry's payload. When the payload does not have it,
    the field becomes unknown — or, with ``keep``, stays as it was (a change that lists
    only the fields it changed)."""
    return {"payload": list(path), **({"missing": "keep"} if keep else {})}


def actor() -> dict:
    """The entry's actor: the person who took the transition."""
    return {"actor": True}


def const(value) -> dict:
    """A fixed value (what the field starts as, or what a transition resets it to)."""
    return {"value": value}


def source_state() -> dict:
    """The state the entry leaves (``from``)."""
    return {"entry": "from"}


def _fold_kind(field) -> str:
    if field.is_relation:
        return "id"
    if isinstance(field, models.DecimalField):
        return "decimal"
    if isinstance(field, models.DateTimeField):
        return "datetime"
    if isinstance(field, models.DateField):
        return "date"
    if isinstance(field, (models.CharField, models.TextField)):
        return "text"
    return "json"


def _resolve(model, path: str):
    """The model field at the end of an ORM ``path`` (``"program__code"``)."""
    *relations, name = path.split("__")
    for relation in relations:
        model = model._meta.get_field(relation).related_model
    return model._meta.get_field(name)


def _fold_columns(model, folds) -> list[tuple]:
    """[(name in the live state, ORM lookup, model field)] of ``folds``."""
    columns = []
    for fold in folds:
        field = _resolve(model, fold.lookup or fold.field)
        lookup = fold.lookup or field.attname
        columns.append((fold.field, lookup, field))
    return columns


def live_value(field, value):
    """``value`` of model ``field`` as the fold writes it (see ``Fold``)."""
    if value is None:
        return None
    kind = _fold_kind(field)
    if kind == "decimal":
        return format(Decimal(value).quantize(Decimal(1).scaleb(-field.decimal_places)), "f")
    if kind in ("date", "datetime"):
        return to_jsonable(value)
    if kind == "text":
        return str(value)
    return value


def register(model_label: str, *, state_field: str = "state", restores: dict | None = None,
             chain_may_start_later: bool = False, fold=()) -> None:
    """Audit ``model_label``'s machine. ``restores`` maps a transition to the one whose
    source state it must return to (``{"resume": "suspend"}``). ``fold``: the ``Fold``
    of each field the chain determines.

    ``chain_may_start_later``: a row may have no chain yet while it is still in the
    initial state — rows created before the model was audited (configuration such as
    programs, also made by fixtures and the demo seed); its chain then starts with its
    first audited change. Such a row is left out of the live states the replay is
    compared with. Once it has a chain, or once it is in any other state, it is
    verified like any other: a state changed without an entry is still found."""
    _REGISTRY[model_label.lower()] = {"state_field": state_field, "restores": restores or {},
                                      "chain_may_start_later": chain_may_start_later, "fold": tuple(fold)}


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
    "keeps_state", "fold": [{"field", "kind", "set": {transition: source}}]}}"""
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
            "fold": _fold_definitions(model, spec["fold"], {"create", *transitions}),
        }
    return result


def _fold_definitions(model, folds, names) -> list[dict]:
    found = []
    for fold, (_name, _lookup, field) in zip(folds, _fold_columns(model, folds), strict=True):
        unknown = set(fold.set) - names
        if unknown:
            raise LookupError(f"the fold of {model._meta.label}.{fold.field} names unknown transitions {sorted(unknown)}")
        found.append({"field": fold.field, "kind": _fold_kind(field), "set": dict(fold.set)})
    return found


def live_states() -> dict:
    """{entity type: {id: {"state", "seq", "head", <folded field>...}}} as the database
    holds them now: the state, the chain head the row keeps (``audit_seq``,
    ``audit_head``) and each field of the machine's fold, written as the fold writes it
    (see ``Fold``). Without the rows whose chain may start later and has not (see
    ``register``)."""
    return {label: _live(_live_rows(label, model, spec), model, spec) for label, model, spec in audited_models()}


def live_state_of(entity) -> dict | None:
    """The live state of one audited row, as ``live_states`` gives it; None while its
    chain has not started and may start later."""
    from ledger.models import entity_type_of

    model = type(entity)
    spec = _REGISTRY[model._meta.label_lower]
    rows = _live_rows(entity_type_of(model), model, spec).filter(pk=entity.pk)
    return _live(rows, model, spec).get(str(entity.pk))


def _live(rows, model, spec) -> dict:
    return dict(_live_iter(rows, model, spec))


def _live_iter(rows, model, spec, *, chunk_size=None):
    """(id, live row) of ``rows``; with ``chunk_size``, read in chunks (a server-side
    cursor on PostgreSQL) rather than all at once."""
    columns = _fold_columns(model, spec["fold"])
    found = rows.values_list(
        "pk", spec["state_field"], "audit_seq", "audit_head", *(lookup for _n, lookup, _f in columns))
    for pk, state, seq, head, *values in (found.iterator(chunk_size=chunk_size) if chunk_size else found):
        row = {"state": state, "seq": seq, "head": head}
        for (name, _lookup, field), value in zip(columns, values, strict=True):
            row[name] = live_value(field, value)
        yield str(pk), row


LIVE_CHUNK = 2000


def write_live_states(handle) -> None:
    """Write ``live_states()`` to the text file ``handle`` as ``json.dumps(live_states(),
    sort_keys=True)`` gives it, byte for byte, a chunk of rows at a time: the rows are
    read in the order of their ids as text (byte order), which is the order
    ``sort_keys`` puts them in."""
    import json

    from django.db import connection
    from django.db.models.functions import Collate

    binary = "C" if connection.vendor == "postgresql" else "BINARY"
    handle.write("{")
    for number, (label, model, spec) in enumerate(audited_models()):
        handle.write(("" if number == 0 else ", ") + json.dumps(label) + ": {")
        rows = (_live_rows(label, model, spec).annotate(id_text=Collate(Cast("pk", CharField()), binary))
                .order_by("id_text"))
        for position, (pk, row) in enumerate(_live_iter(rows, model, spec, chunk_size=LIVE_CHUNK)):
            handle.write(("" if position == 0 else ", ") + json.dumps(pk) + ": " + json.dumps(row, sort_keys=True))
        handle.write("}")
    handle.write("}")


def live_rows_of(entity_type, ids, model, spec) -> dict:
    """{id: live row} of the rows of ``ids`` (text, as in the ledger) that exist; an id
    that cannot be one of the model's keys finds nothing."""
    from django.core.exceptions import ValidationError

    keys = []
    for entity_id in ids:
        try:
            keys.append(model._meta.pk.to_python(entity_id))
        except (ValidationError, ValueError, TypeError):
            continue
    return _live(_live_rows(entity_type, model, spec).filter(pk__in=keys), model, spec) if keys else {}


def live_rows_without_chain(entity_type, model, spec):
    """(id, live row) of every row of the model without any ledger entry, read in chunks."""
    from ledger.models import AuditEntry

    chain = AuditEntry.objects.filter(entity_type=entity_type, entity_id=Cast(OuterRef("pk"), CharField()))
    rows = _live_rows(entity_type, model, spec).filter(~Exists(chain)).order_by("pk")
    return _live_iter(rows, model, spec, chunk_size=LIVE_CHUNK)


def _live_rows(entity_type, model, spec):
    rows = model._default_manager.all()
    if not spec["chain_may_start_later"]:
        return rows
    from ledger.models import AuditEntry

    field = model._meta.get_field(spec["state_field"])
    chain = AuditEntry.objects.filter(entity_type=entity_type, entity_id=Cast(OuterRef("pk"), CharField()))
    return rows.exclude(Q(**{field.name: field.default}) & ~Exists(chain))
