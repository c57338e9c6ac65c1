"""One durable transaction per service entry point (STYLE.md §3).

A service decorated with ``@service_transaction`` opens ``atomic(durable=True)``: it
refuses to run inside somebody else's transaction, so its changes commit (or roll back)
as a whole. Services that apply several transitions at once (a committee session's
close, an application that registers its beneficiary) own a wider transaction and say
so with ``within_caller_transaction()``. The flows' tasks need none: a transition
completes its task inside the service's own transaction (``workflow.engine``). The decorator also turns django-fsm's low-level
exceptions into coded errors.
"""

import logging
from contextlib import contextmanager
from contextvars import ContextVar
from functools import wraps

import django_fsm
from django.db import IntegrityError, connection, transaction

from core.exceptions import ConcurrentUpdate, TransitionNotAllowed

logger = logging.getLogger("tamkeen.services")
_joining: ContextVar[bool] = ContextVar("tamkeen_joining", default=False)


@contextmanager
def within_caller_transaction():
    """Let services called in this block join the caller's open transaction."""
    token = _joining.set(True)
    try:
        yield
    finally:
        _joining.reset(token)


@contextmanager
def consistent_read():
    """A read-only transaction that sees one consistent snapshot (REPEATABLE READ on
    PostgreSQL) and takes no row lock, for reads that must agree with one another. (On
    SQLite every transaction begins IMMEDIATE and so holds the database's write lock
    while it lasts: keep these reads short.)

    Inside a caller's open transaction the isolation level can no longer be set
    (PostgreSQL refuses SET TRANSACTION after the first query): then the caller's
    transaction is used as it is."""
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if outermost and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        yield


def service_transaction(func):
    @wraps(func)
    def wrapper(*args, **kwargs):
        durable = not _joining.get()
        try:
            with transaction.atomic(durable=durable):
                return func(*args, **kwargs)
        except django_fsm.ConcurrentTransition as exc:
            raise ConcurrentUpdate() from exc
        except django_fsm.TransitionNotAllowed as exc:
            raise TransitionNotAllowed() from exc
        except IntegrityError as exc:
            # Services validate and lock before writing, so a constraint violation means
            # a concurrent writer got there first (a duplicate, a taken sequence number).
            logger.warning("integrity error in %s: %s", func.__qualname__, exc)
            raise ConcurrentUpdate() from exc

    # A public service: each must be reachable by a person (tests/architecture/test_service_doors.py).
    wrapper.is_service = True
    return wrapper
