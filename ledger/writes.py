"""Writing one audited transition: its audit entry's INSERT and the entity's row UPDATE.

``write_transition`` is the save half of every audited transition
(``ledger.transitions.apply_transition`` → ``ledger.entries.record_transition``). It
writes the two rows with cached SQL instead of ``AuditEntry.objects.create()`` and
``instance.save(update_fields=...)``, whose query building cost more client CPU than the
database round trips (bench/README.md). It uses only public APIs: ``Model._meta``'s
fields, each field's ``pre_save``/``get_db_prep_save``, ``Model.from_db``, the DB-API
cursor of ``django.db.connections`` and ``core.prepared``.

Contract
--------

Which rows it may write. The entity's model must

- be a concrete model stored in one table of its own (no proxy, no multi-table
  inheritance),
- have exactly one django-fsm state field (``FSMField``...),
- keep ``Model.save`` (or django-fsm's ``ConcurrentTransitionMixin.save``): a model that
  overrides ``save()`` does things this module would skip,
- need no ``pre_save``/``post_save`` signals, for itself or for ``AuditEntry``.

A model that breaks one of the first three is refused (``TypeError``) before anything
is written; the last one is the caller's promise. The entry and the entity must live in
the same database.

What it guarantees:

- It runs inside the caller's transaction (it refuses to run in autocommit), after the
  caller has locked the entity's row and applied the transition in memory.
- One INSERT of the entry and one UPDATE of the entity's row, of exactly ``fields``
  (names or attnames of concrete fields, the state field among them; an unknown name
  raises ``ValueError`` as ``save(update_fields=...)`` does). On PostgreSQL both are one statement, hence one
  round trip: ``WITH entry AS (INSERT … RETURNING id), moved AS (UPDATE … RETURNING 1)
  SELECT (SELECT id FROM entry), (SELECT count(*) FROM moved)``, server-side prepared
  once per connection (``core.prepared``). On other databases they are two statements.
- Values are prepared as ``Model.save`` prepares them: each field's
  ``pre_save(instance, add=False)`` (so an ``auto_now`` field among ``fields`` gets the
  current time, on the instance too), then its ``get_db_prep_save``.
- Optimistic check: the UPDATE matches the row only while its state column still holds
  ``from_state``, the state the caller read under its lock and transitioned from. When
  it matches nothing, the transaction is marked for rollback (the entry can never be
  committed without its row) and ``django_fsm.ConcurrentTransition`` is raised if the
  row still exists (``@service_transaction`` turns it into ``ConcurrentUpdate``),
  Django's ``DatabaseError`` if it does not.
- It returns the entry as a saved ``AuditEntry`` (``Model.from_db``: primary key set,
  ``xact_id``, filled by a database trigger, deferred).

What callers must not expect:

- No ``pre_save``/``post_save`` signals, neither for the entity nor for the entry.
  Anything that reacts to a transition listens to ``ledger.signals.transition_applied``
  (sent in the same transaction, once the entry is written) or to django-fsm's
  ``post_transition`` signal (sent by the transition method).
- No expressions: a value that is an ``F()``/expression is refused (``ValueError``).
- django-fsm's ``ConcurrentTransitionMixin`` keeps its own record of the state it last
  read or saved, which this module does not touch: after a transition, a plain
  ``save()`` of the same instance is refused as concurrent. Further transitions of the
  instance go through ``apply_transition`` again (checked against the state in memory);
  any other save works on the row read anew (a new lock; ``refresh_from_db()`` cannot
  reload a protected ``FSMField``).
"""

from django.core.exceptions import FieldDoesNotExist
from django.db import DatabaseError, connections, router, transaction
from django.db.models import Model
from django_fsm import ConcurrentTransition, ConcurrentTransitionMixin, FSMFieldMixin

from core import prepared

__all__ = ["write_transition"]

# The save() methods whose model this module may write (see the contract).
_PLAIN_SAVES = (Model.save, ConcurrentTransitionMixin.save)

_STATEMENTS: dict = {}


class _Statement:
    """The cached SQL of one (model, fields, database)."""

    __slots__ = ("alias", "entry_fields", "entry_names", "fields", "state_field", "pk_field",
                 "insert", "update", "combined", "exists")

    def __init__(self, model, fields, conn):
        from ledger.models import AuditEntry

        meta = model._meta
        if any(f.model is not model for f in meta.concrete_fields):
            raise TypeError(f"{meta.label} is a proxy or uses multi-table inheritance: "
                            "ledger.writes cannot write it")
        states = [f for f in meta.concrete_fields if isinstance(f, FSMFieldMixin)]
        if len(states) != 1:
            raise TypeError(f"{meta.label} needs exactly one django-fsm state field")
        if router.db_for_write(AuditEntry) != conn.alias:
            raise TypeError(f"{meta.label} and the audit ledger are in different databases")
        if not {states[0].name, states[0].attname} & fields:
            raise ValueError(f"a transition of {meta.label} writes its state field {states[0].name!r}")
        chosen = set()
        for name in fields:
            try:
                field = meta.get_field(name)
            except FieldDoesNotExist:
                field = None
            if field is None or not field.concrete or field.primary_key or field.many_to_many:
                raise ValueError(
                    "The following fields do not exist in this model, are m2m fields, or are "
                    f"non-concrete fields: {name}"
                )
            chosen.add(field)
        self.alias = conn.alias
        self.fields = [f for f in meta.concrete_fields if f in chosen]  # table order
        self.state_field, self.pk_field = states[0], meta.pk
        self.entry_fields = [f for f in AuditEntry._meta.concrete_fields
                             if not f.primary_key and f.attname != "xact_id"]
        self.entry_names = [AuditEntry._meta.pk.attname, *(f.attname for f in self.entry_fields)]
        quote = conn.ops.quote_name
        self.insert = (
            f"INSERT INTO {quote(AuditEntry._meta.db_table)} "
            f"({', '.join(quote(f.column) for f in self.entry_fields)}) "
            f"VALUES ({', '.join(['%s'] * len(self.entry_fields))})"
        )
        where = f"{quote(meta.pk.column)} = %s"
        self.update = (
            f"UPDATE {quote(meta.db_table)} SET {', '.join(f'{quote(f.column)} = %s' for f in self.fields)} "
            f"WHERE {where} AND {quote(self.state_field.column)} = %s"
        )
        self.combined = (
            f"WITH entry AS ({self.insert} RETURNING {quote(AuditEntry._meta.pk.column)}), "
            f"moved AS ({self.update} RETURNING 1) "
            "SELECT (SELECT * FROM entry), (SELECT count(*) FROM moved)"
        ) if conn.vendor == "postgresql" else None
        self.exists = f"SELECT 1 FROM {quote(meta.db_table)} WHERE {where}"


def _statement(model, fields, conn) -> _Statement:
    key = (model, fields, conn.alias)
    statement = _STATEMENTS.get(key)
    if statement is None:
        statement = _STATEMENTS[key] = _Statement(model, fields, conn)
    return statement


def _prepared_value(field, value, conn):
    if hasattr(value, "resolve_expression"):
        raise ValueError(f"ledger.writes writes values, not expressions ({field.name} = {value!r})")
    return field.get_db_prep_save(value, conn)


def write_transition(instance, fields, *, from_state, entry):
    """Insert the audit entry of ``instance``'s transition and update ``fields`` of its
    row, in the caller's transaction (see the module's contract). ``entry`` maps every
    ``AuditEntry`` column's attname (but ``id`` and ``xact_id``) to its value;
    ``from_state`` is the state the row must still hold. Returns the saved entry."""
    from ledger.models import AuditEntry

    model = type(instance)
    if model.save not in _PLAIN_SAVES:
        raise TypeError(f"{model._meta.label} overrides save(): ledger.writes cannot write it")
    conn = connections[router.db_for_write(model, instance=instance)]
    if not conn.in_atomic_block:
        raise RuntimeError("write_transition must run inside the transition's transaction")
    if instance.pk is None:
        raise ValueError("write_transition updates a row read from the database")
    statement = _statement(model, frozenset(fields), conn)
    entry_values = [entry[f.attname] for f in statement.entry_fields]
    params = [_prepared_value(f, v, conn) for f, v in zip(statement.entry_fields, entry_values, strict=True)]
    insert_count = len(params)
    params += [_prepared_value(f, f.pre_save(instance, False), conn) for f in statement.fields]
    params.append(statement.pk_field.get_db_prep_value(instance.pk, conn))
    params.append(statement.state_field.get_db_prep_value(from_state, conn))
    with conn.cursor() as cursor:
        if statement.combined is not None:
            prepared.execute(cursor, statement.combined, params)
            entry_id, matched = cursor.fetchone()
        else:
            prepared.execute(cursor, statement.insert, params[:insert_count])
            entry_id = cursor.lastrowid
            prepared.execute(cursor, statement.update, params[insert_count:])
            matched = cursor.rowcount
        if matched != 1:
            cursor.execute(statement.exists, [params[-2]])
            exists = cursor.fetchone() is not None
            transaction.set_rollback(True, using=conn.alias)
            if exists:
                raise ConcurrentTransition(
                    "Cannot save object! The state has been changed since fetched from the database!"
                )
            raise DatabaseError("Save with update_fields did not affect any rows.")
    return AuditEntry.from_db(conn.alias, statement.entry_names, [entry_id, *entry_values])
