"""Consistency proofs between two RFC 6962 Merkle trees (RFC 9162 §2.1.4).

The witness never sees the ledger's entries, only two roots and a proof. Verifying the
proof is what lets it say "the new tree contains the old one, unchanged, as a prefix"
without trusting the ledger.
"""

from __future__ import annotations

import hashlib

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()


class ConsistencyError(ValueError):
    """The proof does not show that the old tree is a prefix of the new one."""


def leaf_hash(data: bytes) -> bytes:
    """RFC 6962 leaf hash: SHA-256(0x00 || data)."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 6962 interior node hash: SHA-256(0x01 || left || right)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def check_consistency(old_size: int, new_size: int, old_root: bytes, new_root: bytes,
                      proof: list[bytes]) -> None:
    """Raise ConsistencyError unless ``proof`` shows the old tree is a prefix of the new one.

    Follows RFC 9162 §2.1.4.2. The two edge cases the RFC leaves to the caller are fixed
    here: an empty old tree is a prefix of anything (with an empty proof), and a tree is
    consistent with itself only when the roots are equal (again with an empty proof).
    """
    if old_size < 0 or new_size < 0:
        raise ConsistencyError("tree sizes cannot be negative")
    if old_size > new_size:
        raise ConsistencyError(f"the old tree ({old_size}) is larger than the new one ({new_size})")
    if any(len(node) != HASH_SIZE for node in proof):
        raise ConsistencyError("every hash in the proof must be 32 bytes")
    if old_size == 0 or old_size == new_size:
        _check_trivial(old_size, old_root, new_root, proof)
        return
    if not proof:
        raise ConsistencyError("the proof is empty")
    old_computed, new_computed = _roots_from_proof(old_size, new_size, old_root, proof)
    if old_computed != old_root:
        raise ConsistencyError("the proof does not lead to the old root")
    if new_computed != new_root:
        raise ConsistencyError("the proof does not lead to the new root")


def verify_consistency(old_size: int, new_size: int, old_root: bytes, new_root: bytes,
                       proof: list[bytes]) -> bool:
    """Whether ``proof`` shows the old tree is a prefix of the new one (see check_consistency)."""
    try:
        check_consistency(old_size, new_size, old_root, new_root, proof)
    except ConsistencyError:
        return False
    return True


def _check_trivial(old_size: int, old_root: bytes, new_root: bytes, proof: list[bytes]) -> None:
    """The cases with nothing to prove: an empty old tree, or two trees of one size."""
    if proof:
        raise ConsistencyError("the proof must be empty when the old tree is empty or as large as the new one")
    if old_size and old_root != new_root:
        raise ConsistencyError("two trees of the same size have different roots")


def _roots_from_proof(old_size: int, new_size: int, old_root: bytes,
                      proof: list[bytes]) -> tuple[bytes, bytes]:
    """Rebuild both roots from the proof, as RFC 9162 §2.1.4.2 steps 2 to 6 describe."""
    if old_size & (old_size - 1) == 0:
        # The old tree is a complete subtree of the new one: its root is the first node.
        proof = [old_root, *proof]
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    old_computed = new_computed = proof[0]
    for node in proof[1:]:
        if sn == 0:
            raise ConsistencyError("the proof is too long")
        if fn & 1 or fn == sn:
            old_computed = node_hash(node, old_computed)
            new_computed = node_hash(node, new_computed)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            new_computed = node_hash(new_computed, node)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ConsistencyError("the proof is too short")
    return old_computed, new_computed
