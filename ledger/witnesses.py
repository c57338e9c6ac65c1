"""Asking the witnesses to cosign each checkpoint (``TAMKEEN_WITNESSES``).

A witness (``witness/``: its own key and state, no database) cosigns a checkpoint only
when a consistency proof from the last checkpoint it cosigned verifies. So a history
deleted, rebuilt, rolled back or forked in the database can still be signed by the
integrator's key, but no witness cosigns it — and the trust files auditors keep require
the witnesses' cosignatures.

For each checkpoint still lacking a witness's cosignature, the integrator's beat task
sends it with the proof from the witness's last cosigned checkpoint: the one it
remembers here, or the size the witness answers with. A refusal (rollback, fork,
inconsistent) alerts the auditors; a witness out of reach is retried at the next tick.
"""

from __future__ import annotations

import base64
import json
import logging
import urllib.error
import urllib.request
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from ledger.evidence import leaf_hashes
from ledger.models import Checkpoint, KeyCertificate, WitnessCosignature
from ledger.signals import integrity_alert
from ledger.tamkeen_verify import (
    EMPTY_ROOT,
    consistency_proof,
    cosignature_message,
    ed25519_verify,
    key_id_for,
    merkle_root,
)

logger = logging.getLogger("tamkeen.audit.witnesses")
TIMEOUT_SECONDS = 10
REFUSALS = {"rollback", "fork", "inconsistent", "untrusted_key"}


@dataclass(frozen=True)
class Witness:
    name: str
    url: str
    public_key: str

    @property
    def key_id(self) -> str:
        return key_id_for(self.public_key)


def configured() -> list[Witness]:
    return [Witness(w["name"], w["url"].rstrip("/"), w["public_key"]) for w in settings.TAMKEEN_WITNESSES]


@dataclass
class Outcome:
    witness: str
    checkpoint_size: int
    result: str  # "cosigned", "refused: <error>", "unreachable: <why>"


def cosign_pending(witnesses: list[Witness] | None = None) -> list[Outcome]:
    """Send each witness the newest checkpoint it has not cosigned (cosigning it vouches
    for every smaller one), with the proof from the last one it cosigned."""
    outcomes = []
    for witness in witnesses if witnesses is not None else configured():
        cosigned = set(WitnessCosignature.objects.filter(witness_key_id=witness.key_id)
                       .values_list("checkpoint_id", flat=True))
        newest_cosigned = (Checkpoint.objects.filter(pk__in=cosigned).order_by("-size").first()
                           if cosigned else None)
        pending = Checkpoint.objects.exclude(pk__in=cosigned)
        if newest_cosigned is not None:
            # Of the same size too: a checkpoint signing new state machines over the same tree.
            pending = pending.filter(size__gte=newest_cosigned.size)
        checkpoint = pending.order_by("-size", "-created_at").first()
        if checkpoint is None:
            continue
        outcome = _send(witness, checkpoint, newest_cosigned.size if newest_cosigned else None)
        outcomes.append(outcome)
        if outcome.result != "cosigned":
            logger.warning("witness %s, checkpoint of size %d: %s", witness.name, checkpoint.size, outcome.result)
        if outcome.result.startswith("unreachable") and _waited_too_long(checkpoint):
            integrity_alert.send(
                sender=Checkpoint, code=f"witness_unreachable_{witness.key_id[:8]}", size=checkpoint.size,
                message=f"witness {witness.name} has not cosigned the checkpoint of size {checkpoint.size}, signed at "
                        f"{checkpoint.created_at:%Y-%m-%d %H:%M} UTC ({outcome.result}): the trust files that require "
                        "it will not verify until it does",
            )
    return outcomes


def _waited_too_long(checkpoint) -> bool:
    """A checkpoint a witness has not cosigned for ``TAMKEEN_WITNESS_ALERT_AFTER_SECONDS``."""
    waited = (timezone.now() - checkpoint.created_at).total_seconds()
    return waited >= settings.TAMKEEN_WITNESS_ALERT_AFTER_SECONDS


def _send(witness: Witness, checkpoint: Checkpoint, old_size: int | None) -> Outcome:
    certificate = KeyCertificate.objects.filter(key_id=checkpoint.key_id).values_list("certificate", flat=True).first()
    old_size = old_size if old_size is not None else 0
    for _attempt in range(2):
        body = {
            "old_size": old_size,
            "consistency": [base64.b64encode(h).decode() for h in _proof(old_size, checkpoint.size)],
            "checkpoint": {"canonical": bytes(checkpoint.canonical).decode("utf-8"), "key_id": checkpoint.key_id,
                           "signature": base64.b64encode(bytes(checkpoint.signature)).decode()},
            "key_certificate": certificate,
        }
        status, answer = _post(f"{witness.url}/add-checkpoint", body)
        if status == 200:
            return _store(witness, checkpoint, answer)
        error = answer.get("error", "") if isinstance(answer, dict) else ""
        if status == 409 and error == "conflict" and isinstance(answer.get("size"), int) and _attempt == 0:
            old_size = answer["size"]
            if old_size > checkpoint.size or not _root_matches(old_size, answer.get("root")):
                return _refused(witness, checkpoint, "fork", f"the witness cosigned a tree of {old_size} entries "
                                                             "that is not a prefix of this ledger")
            continue
        if status is None:
            return Outcome(witness.name, checkpoint.size, f"unreachable: {answer}")
        if error in REFUSALS or status in (403, 409, 422):
            return _refused(witness, checkpoint, error or str(status), answer.get("message", "") if isinstance(
                answer, dict) else "")
        return Outcome(witness.name, checkpoint.size, f"unreachable: HTTP {status}")
    return Outcome(witness.name, checkpoint.size, "unreachable: no agreement on the witness's size")


def _proof(old_size: int, new_size: int) -> list[bytes]:
    """The consistency proof between two sizes: the one stored with the checkpoint when
    ``old_size`` is its predecessor, else computed from the leaves (a witness that
    missed some checkpoints)."""
    stored = Checkpoint.objects.filter(size=new_size).order_by("-created_at").first()
    if stored is not None:
        document = json.loads(bytes(stored.canonical))
        if document.get("prev_size") == old_size:
            return [base64.b64decode(h) for h in stored.consistency]
    hashes = leaf_hashes(new_size)
    return consistency_proof(old_size, new_size, lambda lo, hi: None, lambda i: hashes[i])


def _root_matches(size: int, root) -> bool:
    """Whether this ledger's first ``size`` leaves give ``root`` (what a witness cosigned)."""
    if size == 0:
        return root in (None, EMPTY_ROOT.hex())
    hashes = leaf_hashes(size)
    return len(hashes) == size and merkle_root(hashes).hex() == root


def _post(url: str, body: dict):
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310 - configured URL
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        try:
            return error.code, json.loads(error.read() or b"{}")
        except ValueError:
            return error.code, {}
    except (urllib.error.URLError, OSError, ValueError) as error:
        return None, str(getattr(error, "reason", error))


def _store(witness: Witness, checkpoint: Checkpoint, answer: dict) -> Outcome:
    try:
        signature = base64.b64decode(answer["signature"], validate=True)
        message = cosignature_message(answer["witness"], answer["time"], bytes(checkpoint.canonical))
        valid = answer["witness"] == witness.key_id and ed25519_verify(witness.public_key, signature, message)
    except (KeyError, TypeError, ValueError):
        valid = False
    if not valid:
        return Outcome(witness.name, checkpoint.size, "unreachable: the cosignature does not verify with the "
                                                      "witness's public key")
    try:
        with transaction.atomic():
            WitnessCosignature(checkpoint=checkpoint, witness_key_id=witness.key_id, time=answer["time"],
                               signature=signature).save()
    except IntegrityError:
        pass  # a concurrent tick stored it first
    return Outcome(witness.name, checkpoint.size, "cosigned")


def _refused(witness: Witness, checkpoint: Checkpoint, error: str, detail: str) -> Outcome:
    message = (f"witness {witness.name} refused the checkpoint of size {checkpoint.size} ({error}"
               f"{': ' + detail if detail else ''}): the ledger's history differs from what it cosigned before")
    logger.error(message)
    integrity_alert.send(sender=Checkpoint, code=f"witness_{error}", message=message, size=checkpoint.size)
    return Outcome(witness.name, checkpoint.size, f"refused: {error}")
