"""Saving an audited instance's transition as ``save(update_fields=...)`` would, in one
prepared statement.

Every audited transition ends with ``instance.save(update_fields=[state, ..., head])``.
Building Django's UPDATE (filters, compiler, django-fsm's state check) cost more client
CPU than the database round trip, so ``RowUpdate`` writes the same row with a cached
statement and keeps the same behaviour:

- the same checks before writing (``_prepare_related_fields_for_save``, unknown field
  names), ``pre_save`` / ``post_save`` signals with the same arguments, each field's
  ``pre_save`` (``auto_now``) and ``get_db_prep_save``;
- django-fsm's optimistic check (``ConcurrentTransitionMixin``): the UPDATE only matches
  the row while its state fields still hold the values read from the database; no row
  matched while the row exists raises ``ConcurrentTransition`` (a ``ConcurrentUpdate``
  for the services), no row at all raises Django's ``DatabaseError``; the saved state
  becomes the new reference afterwards.

Anything outside that simple case takes Django's own ``save``: a model that overrides
``save`` (or whose ``save`` was replaced), multi-table inheritance, proxies,
``select_on_save``, a field with its own SQL placeholder, a nullable state that is NULL.
A value that is an expression (``F()``...) is written by Django's own ``_save_table``
after the same ``pre_save``. ``ledger.record_transition`` sends the statement
together with the audit entry's INSERT on PostgreSQL (one round trip for both).
"""

from django.db import DatabaseError, connections, router, transaction
from django.db.models import CharField, Model, signals
from django_fsm import ConcurrentTransition, ConcurrentTransitionMixin, FSMFieldMixin

__all__ = ["RowUpdate", "save_fields"]

# The ``save`` methods whose whole behaviour RowUpdate reproduces.
_PLAIN_SAVES = (Model.save, ConcurrentTransitionMixin.save)
# django-fsm 3 keeps the states read from the database under this (name-mangled) attribute.
_INITIAL_STATES = "_ConcurrentTransitionMixin__initial_states"

_PLANS: dict = {}


class _Plan:
    """The cached statement for one model and set of fields."""

    __slots__ = ("fields", "fields_plain", "state_fields", "sql", "pk_field", "exists_sql")

    def __init__(self, model, update_fields, quote):
        meta = model._meta
        self.pk_field = meta.pk
        self.fields = [
            f for f in meta.local_concrete_fields
            if not f.primary_key and not f.generated and (f.name in update_fields or f.attname in update_fields)
        ]
        # A plain CharField passes a str through get_db_prep_save unchanged.
        self.fields_plain = [(f, type(f) is CharField) for f in self.fields]
        concurrent = issubclass(model, ConcurrentTransitionMixin)
        self.state_fields = [f for f in meta.fields if isinstance(f, FSMFieldMixin)] if concurrent else []
        table = quote(meta.db_table)
        where = " AND ".join(
            [f"{quote(meta.pk.column)} = %s", *(f"{quote(f.column)} = %s" for f in self.state_fields)]
        )
        self.sql = f"UPDATE {table} SET {', '.join(f'{quote(f.column)} = %s' for f in self.fields)} WHERE {where}"
        self.exists_sql = f"SELECT 1 FROM {table} WHERE {quote(meta.pk.column)} = %s"


def _plan_for(model, update_fields, conn):
    key = (model, update_fields, conn.vendor)
    plan = _PLANS.get(key)
    if plan is None:
        meta = model._meta
        if (
            meta.proxy or meta.parents or meta.auto_created or meta.select_on_save
            or update_fields.difference(meta._non_pk_concrete_field_names)
        ):
            plan = False  # Django's save handles it (and raises for unknown names)
        else:
            plan = _Plan(model, update_fields, conn.ops.quote_name)
            if not plan.fields or any(hasattr(f, "get_placeholder") for f in plan.fields):
                plan = False
        _PLANS[key] = plan
    return plan


class RowUpdate:
    """One prepared ``save(update_fields=...)`` of ``instance``: ``prepare``, then run
    ``sql``/``params`` (alone or inside a larger statement), then ``finish`` with the
    number of rows it matched."""

    __slots__ = ("instance", "update_fields", "using", "conn", "plan", "sql", "params")

    @classmethod
    def prepare(cls, instance, update_fields):
        """The update, with ``pre_save`` sent and values prepared; ``None`` when this
        instance must go through its own ``save`` instead."""
        if type(instance).save not in _PLAIN_SAVES or instance._state.adding:
            return None
        update_fields = frozenset(update_fields)
        if not update_fields:
            return None
        using = router.db_for_write(type(instance), instance=instance)
        conn = connections[using]
        plan = _plan_for(type(instance), update_fields, conn)
        if not plan:
            return None
        initial = getattr(instance, _INITIAL_STATES, None) if plan.state_fields else {}
        if initial is None:
            return None
        states = [initial.get(f.attname) for f in plan.state_fields]
        pk = instance.pk
        if pk is None or any(s is None for s in states):
            return None
        instance._prepare_related_fields_for_save(operation_name="save")
        signals.pre_save.send(
            sender=type(instance), instance=instance, raw=False, using=using, update_fields=update_fields
        )
        update = cls()
        update.instance, update.update_fields, update.using, update.conn = instance, update_fields, using, conn
        update.plan, update.sql = plan, plan.sql
        params = []
        for field, plain in plan.fields_plain:
            value = field.pre_save(instance, False)
            if plain and type(value) is str:  # what get_db_prep_save returns for it
                params.append(value)
                continue
            if _needs_compiler(value):
                # An expression (F(), a subquery...) or a model instance: Django writes the row.
                with transaction.mark_for_rollback_on_error(using=using):
                    instance._save_table(cls=type(instance), using=using, update_fields=update_fields)
                update.sql = update.params = None
                return update
            params.append(field.get_db_prep_save(value, conn))
        params.append(plan.pk_field.get_db_prep_value(pk, conn))
        params.extend(f.get_db_prep_value(s, conn) for f, s in zip(plan.state_fields, states, strict=True))
        update.params = params
        return update

    def run(self) -> int | None:
        """Send the statement alone; the rows it matched (``None``: already written)."""
        if self.sql is None:
            return None
        with self.conn.cursor() as cursor:
            cursor.execute(self.sql, self.params)
            return cursor.rowcount

    def execute(self) -> None:
        self.finish(self.run())

    def finish(self, matched: int | None) -> None:
        """After the statement (``matched``: the rows it matched; ``None`` when Django
        already wrote the row): raise as Django/django-fsm would when no row matched,
        otherwise record the saved state and send ``post_save``."""
        instance = self.instance
        if matched is not None and matched < 1:
            if self.plan.state_fields:
                with self.conn.cursor() as cursor:
                    cursor.execute(self.plan.exists_sql, [self.params[len(self.plan.fields)]])
                    exists = cursor.fetchone() is not None
                if exists:
                    raise ConcurrentTransition(
                        "Cannot save object! The state has been changed since fetched from the database!"
                    )
            raise DatabaseError("Save with update_fields did not affect any rows.")
        instance._state.db = self.using
        instance._state.adding = False
        if self.plan.state_fields:  # what ConcurrentTransitionMixin.save records
            setattr(instance, _INITIAL_STATES, {f.attname: f.value_from_object(instance) for f in self.plan.state_fields})
        signals.post_save.send(
            sender=type(instance), instance=instance, created=False, update_fields=self.update_fields,
            raw=False, using=self.using,
        )


def _needs_compiler(value) -> bool:
    """An F()/expression, or a model instance, which only Django's compiler resolves."""
    return hasattr(value, "resolve_expression") or hasattr(value, "prepare_database_save")


def save_fields(instance, update_fields) -> None:
    """``instance.save(update_fields=update_fields)``, in one prepared statement when
    the instance allows it (see the module's docstring)."""
    update = RowUpdate.prepare(instance, update_fields)
    if update is None:
        instance.save(update_fields=list(update_fields))
    else:
        update.execute()
