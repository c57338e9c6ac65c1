"""The verifier's own tests: only the module and `cryptography`, no Django, no database.
Merkle consistency proofs, key certificates, the trust file, and checkpoint links."""

import base64
import hashlib
import json

import pytest
import tamkeen_verify as tv
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey


def public_hex(key):
    return key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()


def leaves(n):
    return [tv.leaf_hash(hashlib.sha256(str(i).encode()).hexdigest()) for i in range(n)]


def frontier_of(hashes):
    frontier = []
    for leaf in hashes:
        tv.frontier_append(frontier, leaf)
    return frontier


@pytest.mark.parametrize("n", range(1, 41))
def test_every_consistency_proof_verifies_and_any_change_is_refused(n):
    tree = leaves(n)
    new_root = tv.merkle_root(tree)
    for m in range(0, n + 1):
        old_root = tv.merkle_root(tree[:m])
        proof = tv.consistency_proof_from_frontier(frontier_of(tree[:m]), tree[m:])
        assert proof == tv.consistency_proof(m, n, lambda lo, hi: None, lambda i: tree[i])
        assert tv.verify_consistency(m, n, old_root, new_root, proof), (m, n)
        if 0 < m < n:
            rewritten = list(tree)
            rewritten[m - 1] = tv.leaf_hash("ab" * 32)  # the old tree's last leaf changed
            assert not tv.verify_consistency(m, n, old_root, tv.merkle_root(rewritten), proof)
            for position in range(len(proof)):
                bent = list(proof)
                bent[position] = hashlib.sha256(b"bent").digest()
                assert not tv.verify_consistency(m, n, old_root, new_root, bent)
            assert not tv.verify_consistency(m, n, old_root, new_root, proof[:-1])


def test_a_proof_between_equal_sizes_needs_equal_roots_and_no_hashes():
    tree = leaves(5)
    root = tv.merkle_root(tree)
    assert tv.verify_consistency(5, 5, root, root, [])
    assert not tv.verify_consistency(5, 5, root, tv.merkle_root(leaves(6)), [])
    assert not tv.verify_consistency(6, 5, root, root, [])


def certificate(root, key, purpose="checkpoint", valid_from="2026-01-01T00:00:00.000000Z"):
    statement = tv.key_statement(public_key_hex=public_hex(key), purpose=purpose, valid_from=valid_from)
    return {"statement": statement, "root_key_id": tv.key_id_for(public_hex(root)),
            "signature": base64.b64encode(root.sign(tv.canonical_bytes(statement))).decode()}


def test_a_key_is_trusted_only_with_a_certificate_from_the_pinned_root():
    root, other_root, key = (Ed25519PrivateKey.generate() for _ in range(3))
    good = certificate(root, key)
    assert tv.certificate_problem(good, public_hex(root)) is None
    assert "not by the pinned root" in tv.certificate_problem(certificate(other_root, key), public_hex(root))
    forged = json.loads(json.dumps(good))
    forged["statement"]["purpose"] = "entry"
    assert "does not verify" in tv.certificate_problem(forged, public_hex(root))
    mismatched = json.loads(json.dumps(good))
    mismatched["statement"]["key_id"] = "0" * 32
    assert "not derived" in tv.certificate_problem(mismatched, public_hex(root))
    assert tv.certificate_problem(None, public_hex(root)) == "no certificate"


def test_a_key_list_entry_must_match_its_id_and_certificate():
    root, key, intruder = (Ed25519PrivateKey.generate() for _ in range(3))
    item = {"id": tv.key_id_for(public_hex(key)), "purpose": "checkpoint", "public_key": public_hex(key),
            "valid_from": "2026-01-01T00:00:00.000000Z", "valid_until": None, "certificate": certificate(root, key)}
    assert tv.PublicKey.from_json(item).trust_problem(public_hex(root)) is None
    replaced = dict(item, public_key=public_hex(intruder))
    assert "not derived" in tv.PublicKey.from_json(replaced).trust_problem(public_hex(root))
    earlier = dict(item, valid_from="2025-01-01T00:00:00.000000Z")
    assert "window" in tv.PublicKey.from_json(earlier).trust_problem(public_hex(root))


def test_windows_end_where_the_next_certified_key_begins():
    keys = [tv.PublicKey(str(i), "entry", "00", tv.parse_time(f"2026-0{i}-01T00:00:00Z"), None) for i in (1, 2, 3)]
    ordered = tv.with_windows(list(reversed(keys)))
    assert [k.valid_until for k in ordered] == [keys[1].valid_from, keys[2].valid_from, None]


def test_the_trust_file_round_trips_and_refuses_what_is_not_one(tmp_path):
    root = Ed25519PrivateKey.generate()
    trust = tv.Trust(public_hex(root), [], 0, {"canonical": json.dumps({"size": 3, "root": "ab" * 32}),
                                               "key_id": "k", "signature": "c2ln"})
    path = tmp_path / "trust.json"
    tv.save_trust(trust, str(path))
    again = tv.load_trust(str(path))
    assert again.root_public_key == public_hex(root) and again.checkpoint["size"] == 3
    data = json.loads(path.read_text())
    data["root"]["id"] = "0" * 32
    path.write_text(json.dumps(data))
    with pytest.raises(tv.BundleError, match="not derived"):
        tv.load_trust(str(path))
    path.write_text(json.dumps(dict(data, format="something else")))
    with pytest.raises(tv.BundleError, match="not a Tamkeen trust file"):
        tv.load_trust(str(path))


def test_a_missing_predecessor_breaks_the_checkpoints_chain():
    """Three checkpoints signed in a row; leaving out the middle one breaks the link of
    the third."""
    key = Ed25519PrivateKey.generate()
    kid = tv.key_id_for(public_hex(key))
    tree = leaves(30)
    records, previous = [], (0, tv.EMPTY_ROOT.hex())
    for size in (10, 20, 30):
        root = tv.merkle_root(tree[:size]).hex()
        doc = {"v": 2, "size": size, "root": root, "at": f"2026-01-01T00:00:{size}.000000Z", "key": kid,
               "prev_size": previous[0], "prev_root": previous[1]}
        canonical = tv.canonical_bytes(doc)
        proof = tv.consistency_proof(previous[0], size, lambda lo, hi: None, lambda i: tree[i])
        records.append(tv.CheckpointRecord(canonical, kid, key.sign(canonical), proof))
        previous = (size, root)
    keys = [tv.PublicKey(kid, "checkpoint", public_hex(key), tv.parse_time("2025-01-01T00:00:00Z"), None)]
    leaves_by_index = tv.TreeWalk({10, 20, 30})
    for index, leaf in enumerate(tree):
        leaves_by_index.add_leaf(index, leaf)
    whole = tv.Report()
    tv._verify_checkpoints(records, leaves_by_index, {kid: keys[0]}, whole, whole.add)
    assert whole.ok, whole.problems
    gapped = tv.Report()
    tv._verify_checkpoints([records[0], records[2]], leaves_by_index, {kid: keys[0]}, gapped, gapped.add)
    assert [(p.code, p.checkpoint_size) for p in gapped.problems] == [("checkpoint_chain_broken", 30)]
