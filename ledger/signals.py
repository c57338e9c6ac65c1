"""Signals of the ledger.

``transition_applied`` is sent by ``ledger.transitions.apply_transition`` once a
transition of an audited machine is applied and its entry written, **inside** the
transition's transaction: sender is the model, with ``instance``, ``transition``,
``from_state``, ``to_state`` and ``actor``. A receiver's writes commit with the
transition, and a receiver that raises rolls the transition back — the flows close
the task a transition completes this way, never after the fact.
"""

from django.dispatch import Signal

transition_applied = Signal()
