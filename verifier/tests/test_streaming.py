"""The verifier at scale, without Django: the Merkle tree walked as a frontier whatever
order the leaves come in, the signatures checked on several processes, and the
progress line."""

import hashlib
import io
import random

import tamkeen_verify as tv
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey


def digests(count):
    return [hashlib.sha256(str(i).encode()).hexdigest() for i in range(count)]


def test_the_tree_walk_gives_every_wanted_root_whatever_order_the_leaves_come_in():
    hashes = digests(37)
    leaves = [tv.leaf_hash(h) for h in hashes]
    order = list(range(37))
    random.Random(7).shuffle(order)
    tree = tv.TreeWalk({1, 10, 16, 37})
    for index in order:
        assert tree.add(index, hashes[index])
    tree.finish()
    assert (tree.position, tree.indexed, tree.pending) == (37, 37, {})
    for size in (1, 10, 16, 37):
        assert tree.root_at(size) == tv.merkle_root(leaves[:size]).hex()
    assert tree.root_at(20) is None  # not wanted: not kept


def test_the_tree_walk_keeps_only_the_frontier_when_leaves_come_in_order():
    tree = tv.TreeWalk({1000})
    for index, digest in enumerate(digests(1000)):
        tree.add(index, digest)
        assert not tree.pending
        assert len(tree.frontier) <= 10  # one hash a bit of the size
    assert tree.root_at(1000) is not None


def test_the_tree_walk_refuses_a_reused_index_and_stops_at_a_hole():
    hashes = digests(10)
    tree = tv.TreeWalk({5, 10})
    for index in (0, 1, 2, 4, 5, 6):
        assert tree.add(index, hashes[index])
    assert not tree.add(1, hashes[1])  # consumed already
    assert not tree.add(5, hashes[5])  # waiting already
    assert (tree.position, tree.indexed) == (3, 6)
    report = tv.Report()
    tv._verify_checkpoints([], tree, {}, report, report.add)
    assert [(p.code, p.index) for p in report.problems] == [("index_gap", 3)]


def test_the_tree_walk_starts_from_an_earlier_checkpoints_frontier():
    """--since: the tree of the first 16 leaves is given by its frontier, and the later
    leaves give the same roots as a walk from the start."""
    hashes = digests(40)
    leaves = [tv.leaf_hash(h) for h in hashes]
    frontier = []
    for leaf in leaves[:16]:
        tv.frontier_append(frontier, leaf)
    base = tv.SinceCheckpoint(record=None, size=16, root=tv.frontier_root(frontier).hex(), at=None,
                              frontier=frontier)
    tree = tv.TreeWalk({30, 40}, base)
    assert tree.add(3, "00" * 32)  # before the checkpoint: checked before, not in this tree
    for index in range(16, 40):
        tree.add(index, hashes[index])
    assert tree.root_at(40) == tv.merkle_root(leaves).hex()
    assert tree.root_at(30) == tv.merkle_root(leaves[:30]).hex()


def _key():
    private = Ed25519PrivateKey.generate()
    public = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()
    key = tv.PublicKey(tv.key_id_for(public), "entry", public, tv.parse_time("2025-01-01T00:00:00Z"), None)
    return private, key


def test_the_signature_pool_checks_every_signature_on_other_processes_and_names_the_bad_one():
    private, key = _key()
    pool = tv.SignaturePool([key], workers=2)
    pool.BATCH = 7  # several batches in flight
    try:
        for number, digest in enumerate(digests(50), 1):
            signature = private.sign(bytes.fromhex(digest))
            if number == 23:
                signature = bytes(64)
            record = tv.EntryRecord(canonical=b"", hash=digest, key_id=key.key_id, signature=signature, index=None,
                                    entry_id=number)
            pool.add(record, {"entity_type": "workflow.grantproject", "entity_id": "9", "seq": number})
        count, problems = pool.finish()
    finally:
        pool.close()
    assert count == 50
    assert [(p.code, p.entry_id, p.seq, p.entity_id) for p in problems] == [("bad_signature", 23, 23, "9")]


def test_the_progress_line_says_the_count_the_total_the_rate_and_what_is_left():
    stream = io.StringIO()
    bar = tv.ProgressBar(1000, stream=stream, enabled=True)
    bar.started = 0.0
    bar.count = 250
    line = bar.line(5.0)  # 250 entries in 5 s: 50 a second, 750 left: 15 s
    assert "250/1,000 entries" in line and "50/s" in line and "ETA 0:15" in line
    assert line.count("#") == 7
    bar.close(1000)
    assert stream.getvalue().endswith("\n") and "1,000/1,000" in stream.getvalue()


def test_the_progress_line_is_silent_off_a_terminal():
    stream = io.StringIO()  # not a terminal
    bar = tv.ProgressBar(10, stream=stream)
    bar.last = -1.0
    bar(5)
    bar.close(10)
    assert stream.getvalue() == ""
