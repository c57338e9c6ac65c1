"""A witness for the Tamkeen audit ledger.

It cosigns a signed checkpoint of the ledger only when a consistency proof shows that
the new tree extends the last tree it cosigned, so a ledger that rewrites its history
can no longer collect cosignatures for the rewritten one. It keeps its own Ed25519 key
and a small JSON state file, and needs nothing but the standard library and
``cryptography``.
"""

__version__ = "0.1.0"
