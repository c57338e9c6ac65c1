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

``chain_broken`` is sent when a chain's verification (the scheduled one or an auditor's
"Verify now") finds a chain broken that was not stored as broken before, inside the
transaction that stores the result: ``entity_type``, ``entity_id``, ``last_seq`` and
``problem`` (the first one found, as a dict). The auditors are alerted once.
"""

from django.dispatch import Signal

transition_applied = Signal()
checkpoint_signed = Signal()
integrity_alert = Signal()
chain_broken = Signal()
