"""Shared machinery for tests that race real PostgreSQL connections (the ``slow_audit``
fixture is in conftest.py)."""

import threading

from django.db import connections

from core.exceptions import TamkeenError

# The data-migration rows a transactional test's flush removes come back through it.


def race(*calls, timeout=120):
    """Run each call in its own thread and connection, all released at once by a barrier;
    return "ok" or the error code of each, in order."""
    barrier = threading.Barrier(len(calls))
    outcomes = [None] * len(calls)

    def run(i, call):
        try:
            barrier.wait(timeout=10)
            call()
            outcomes[i] = "ok"
        except TamkeenError as error:
            outcomes[i] = error.code
        except Exception as error:  # reported by the assertions, not swallowed
            outcomes[i] = f"unexpected {type(error).__name__}: {error}"
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, call), name=f"racer-{i}") for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    assert not any(thread.is_alive() for thread in threads), "a racing service never returned"
    return outcomes
