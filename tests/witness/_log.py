"""A small stand-in for the ledger, built here from the RFCs and not from the witness's
code, so that the witness is checked against an independent reading of the formats:
RFC 6962 tree hashes, RFC 9162 consistency proofs, root-certified checkpoint keys and
signed checkpoints."""

from __future__ import annotations

import base64
import hashlib
import json
from functools import cache
from typing import ClassVar

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

CERTIFIED_FROM = "2026-01-01T00:00:00.000000Z"
CHECKPOINT_AT = "2026-12-04T20:41:45.123456Z"


def canonical(document: dict) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def public_bytes(private_key: Ed25519PrivateKey) -> bytes:
    return private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def key_id_of(private_key: Ed25519PrivateKey) -> str:
    return hashlib.sha256(public_bytes(private_key)).hexdigest()[:32]


def leaf_data(index: int, variant: str = "") -> bytes:
    """The data of leaf ``index``; another ``variant`` gives another history."""
    return hashlib.sha256(f"entry {index}{variant}".encode()).digest()


class Tree:
    """An RFC 6962 Merkle tree over fixed leaf data, with RFC 9162 consistency proofs."""

    def __init__(self, leaves: list[bytes]):
        self.leaves = tuple(leaves)

    def __len__(self) -> int:
        return len(self.leaves)

    def root(self, size: int | None = None) -> bytes:
        """MTH(D[0:size]) (the whole tree by default)."""
        return self._hash(0, len(self.leaves) if size is None else size)

    def consistency(self, old_size: int, new_size: int | None = None) -> list[bytes]:
        """PROOF(old_size, D[0:new_size]), RFC 9162 §2.1.4.1, written out as the RFC reads."""
        new_size = len(self.leaves) if new_size is None else new_size
        if old_size == 0 or old_size == new_size:
            return []
        return self._subproof(old_size, 0, new_size, True)

    def _subproof(self, m: int, lo: int, hi: int, whole: bool) -> list[bytes]:
        n = hi - lo
        if m == n:
            return [] if whole else [self._hash(lo, hi)]
        k = _largest_power_of_two_below(n)
        if m <= k:
            return self._subproof(m, lo, lo + k, whole) + [self._hash(lo + k, hi)]
        return self._subproof(m - k, lo + k, hi, False) + [self._hash(lo, lo + k)]

    def _hash(self, lo: int, hi: int) -> bytes:
        return _tree_hash(self.leaves[lo:hi])


@cache
def _tree_hash(leaves: tuple[bytes, ...]) -> bytes:
    """MTH of RFC 6962 §2.1, memoised because proofs ask for the same subtrees again and again."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return hashlib.sha256(b"\x00" + leaves[0]).digest()
    k = _largest_power_of_two_below(len(leaves))
    return hashlib.sha256(b"\x01" + _tree_hash(leaves[:k]) + _tree_hash(leaves[k:])).digest()


def _largest_power_of_two_below(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def certificate(root_key: Ed25519PrivateKey, subject: Ed25519PrivateKey, *, purpose: str = "checkpoint",
                valid_from: str = CERTIFIED_FROM) -> dict:
    """A key certificate as the ledger's root key issues it."""
    statement = {
        "v": 1, "type": "tamkeen-key-certificate", "key_id": key_id_of(subject), "purpose": purpose,
        "public_key": public_bytes(subject).hex(), "valid_from": valid_from,
    }
    return {"statement": statement, "root_key_id": key_id_of(root_key),
            "signature": b64(root_key.sign(canonical(statement)))}


class Ledger:
    """A ledger's signing side: a root key, a certified checkpoint key, and a history."""

    root_key: ClassVar[Ed25519PrivateKey] = Ed25519PrivateKey.generate()

    def __init__(self, size: int = 0, variant: str = ""):
        self.checkpoint_key = Ed25519PrivateKey.generate()
        self.certificate = certificate(self.root_key, self.checkpoint_key)
        self.tree = Tree([leaf_data(i, variant) for i in range(size)])
        self.variant = variant

    @property
    def root_public_hex(self) -> str:
        return public_bytes(self.root_key).hex()

    def grow(self, size: int) -> None:
        """Append leaves until the history holds ``size`` entries."""
        self.tree = Tree([*self.tree.leaves, *(leaf_data(i, self.variant) for i in range(len(self.tree), size))])

    def checkpoint(self, size: int | None = None, *, root: bytes | None = None, at: str = CHECKPOINT_AT,
                   prev_size: int = 0, signer: Ed25519PrivateKey | None = None, names: str | None = None,
                   **extra) -> dict:
        """A signed checkpoint of the first ``size`` entries, as the ledger sends it.

        ``names`` puts another key id in the checkpoint than the one that signs it.
        """
        size = len(self.tree) if size is None else size
        signer = signer or self.checkpoint_key
        document = {
            "v": 2, "size": size, "root": (root or self.tree.root(size)).hex(), "at": at,
            "key": names or key_id_of(signer), "prev_size": prev_size, "prev_root": self.tree.root(prev_size).hex(),
            **extra,
        }
        body = canonical(document)
        return {"canonical": body.decode("utf-8"), "key_id": key_id_of(signer), "signature": b64(signer.sign(body))}

    def request(self, old_size: int, size: int | None = None, **checkpoint_options) -> dict:
        """An add-checkpoint request from ``old_size`` to ``size`` with an honest proof."""
        size = len(self.tree) if size is None else size
        return {
            "old_size": old_size,
            "consistency": [b64(node) for node in self.tree.consistency(old_size, size)],
            "checkpoint": self.checkpoint(size, **checkpoint_options),
            "key_certificate": self.certificate,
        }
