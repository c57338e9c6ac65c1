"""Signals of the ledger.

``transition_applied`` is sent by ``ledger.transitions.apply_transition`` once a
transition of an audited machine is applied and its entry written, **inside** the
transition's transaction: sender is the model, with ``instance``, ``transition``,
``from_state``, ``to_state`` and ``actor``. A receiver's writes commit with the
transition, and a receiver that raises rolls the transition back — the flows close
the task a transition completes this way, never after the fact.

``checkpoint_signed`` is sent once a new checkpoint has committed (``checkpoint``): the
witnesses are asked to cosign it and the auditors get it by email.

``integrity_alert`` is sent when the integrator refuses to sign because the database's
history is not the one it signed (``code``, ``message``, ``size``), or a witness refuses
a checkpoint: the auditors are alerted.
"""

from django.dispatch import Signal

transition_applied = Signal()
checkpoint_signed = Signal()
integrity_alert = Signal()
