"""The verification chain by chain (how ``manage.py audit verify`` reads the database):
each chain compared with its live row as soon as it is complete, then forgotten, the tree
walked from the leaves in a pass of its own — with the problems, and their order, of the
walk in insertion order, and a peak memory that does not grow with the number of chains."""

import json
import random
import tracemalloc

import tamkeen_verify as tv

THING = "t.thing"
MACHINES = {THING: {
    "initial": "draft",
    "transitions": [
        {"name": "create", "sources": [""], "targets": ["draft"]},
        {"name": "submit", "sources": ["draft"], "targets": ["submitted"]},
        {"name": "note", "sources": ["draft", "submitted"], "targets": ["draft", "submitted"]},
    ],
    "keeps_state": ["note"],
    "restores": {},
}}
KEY = tv.PublicKey("k" * 32, "entry", "00" * 32, tv.parse_time("2025-01-01T00:00:00Z"), None)
MOVES = [("create", "", "draft"), ("submit", "draft", "submitted"), ("note", "submitted", "submitted")]


def entry(entity_id, seq, prev, minute=0):
    transition, source, target = MOVES[min(seq, len(MOVES)) - 1]
    document = {"v": 1, "entity_type": THING, "entity_id": entity_id, "seq": seq, "transition": transition,
                "from": source, "to": target, "actor": None, "role": "clerk", "request_id": "r", "payload": {},
                "prev": prev, "at": f"2025-03-01T10:{minute:02d}:00.000000Z"}
    canonical = tv.canonical_bytes(document)
    return canonical, tv.entry_hash(canonical)


class DictLiveRows(tv.LiveRows):
    """The live rows of a dict, as the database gives them (``ledger.evidence``)."""

    def __init__(self, live: dict, chained: set):
        self.live, self.chained, self.types = live, chained, frozenset(live)

    def rows(self, keys):
        return {key: self.live[key[0]][key[1]] for key in keys if key[1] in self.live.get(key[0], {})}

    def without_chain(self):
        for entity_type, rows in self.live.items():
            for entity_id, row in rows.items():
                if (entity_type, entity_id) not in self.chained:
                    yield entity_type, entity_id, row


def tampered_ledger():
    """Twenty chains of four entries, interleaved in insertion order, then tampered with
    in several ways at once. Returns (records in insertion order, the live rows)."""
    rng = random.Random(11)
    steps = [(str(thing), seq) for thing in range(1, 21) for seq in range(1, 5)]
    steps.sort(key=lambda step: (step[1], rng.random()))  # each chain in seq order, the chains interleaved
    heads, records = {}, []
    for number, (thing, seq) in enumerate(steps, 1):
        minute = 30 - seq if thing == "2" else seq  # thing 2: its times go backwards
        canonical, digest = entry(thing, seq, heads.get(thing, tv.GENESIS), minute)
        heads[thing] = digest
        records.append(tv.EntryRecord(canonical=canonical, hash=digest, key_id=KEY.key_id, signature=b"",
                                      index=number - 1, entry_id=number * 3))
    live = {THING: {str(n): {"state": "submitted", "seq": 4, "head": heads[str(n)]} for n in range(1, 21)}}
    edited = next(r for r in records if place(r) == ("3", 2))
    edited.canonical = edited.canonical.replace(b'"role":"clerk"', b'"role":"chief"')  # bytes edited
    records = [r for r in records if place(r) != ("7", 2)]  # an entry deleted
    live[THING]["5"] = {**live[THING]["5"], "state": "draft"}  # a state changed without an entry
    live[THING]["99"] = {"state": "draft", "seq": 0, "head": tv.GENESIS}  # a row without a chain
    del live[THING]["11"]  # a chain without its row
    live[THING] = dict(sorted(live[THING].items(), key=lambda item: int(item[0])))
    return records, live


def place(record):
    document = json.loads(record.canonical)
    return document["entity_id"], document["seq"]


def by_chain(records):
    return sorted(records, key=lambda r: (place(r)[0], r.entry_id))


def test_chain_by_chain_finds_the_problems_of_the_walk_in_insertion_order_in_the_same_order():
    records, live = tampered_ledger()
    walked = tv.verify_ledger(records, [], [KEY], MACHINES, live)
    codes = {p.code for p in walked.problems}
    assert {"hash_mismatch", "seq_gap", "prev_mismatch", "time_backwards", "live_state_mismatch",
            "orphan_chain", "index_gap"} <= codes, walked.summary()
    chained = {(THING, place(r)[0]) for r in records}
    leaves = [(r.index, r.hash, r.entry_id) for r in sorted(records, key=lambda r: r.index)]
    for stop_after in (200, 4):
        expected = tv.verify_ledger(records, [], [KEY], MACHINES, live, stop_after=stop_after)
        grouped = tv.verify_ledger(by_chain(records), [], [KEY], MACHINES, None, stop_after=stop_after,
                                   leaves=iter(leaves), live_rows=DictLiveRows(live, chained))
        assert [p.as_dict() for p in grouped.problems] == [p.as_dict() for p in expected.problems]
        assert (grouped.entries, grouped.chains, grouped.unindexed) == (expected.entries, expected.chains,
                                                                         expected.unindexed)
    assert len(grouped.problems) == 4


class ComputedLiveRows(tv.LiveRows):
    """Every thing's row is "submitted", computed on demand: nothing held."""

    types = frozenset([THING])

    def rows(self, keys):
        return dict.fromkeys(keys, "submitted")

    def without_chain(self):
        return iter(())


def synthetic_ledger(chains):
    """``chains`` chains of three entries, chain by chain: (the records, the leaves), both
    generated as they are read."""

    def walk():
        number = 0
        for thing in range(chains):
            prev = tv.GENESIS
            for seq in (1, 2, 3):
                canonical, digest = entry(str(thing), seq, prev)
                yield number, canonical, digest
                number, prev = number + 1, digest

    records = (tv.EntryRecord(canonical=c, hash=d, key_id=KEY.key_id, signature=b"", index=n, entry_id=n + 1)
               for n, c, d in walk())
    leaves = ((n, d, n + 1) for n, _c, d in walk())
    return records, leaves


def peak_heap(chains):
    records, leaves = synthetic_ledger(chains)
    tracemalloc.start()
    try:
        report = tv.verify_ledger(records, [], [KEY], MACHINES, None, leaves=leaves, live_rows=ComputedLiveRows())
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert report.ok and report.chains == chains, report.summary()
    return peak


def test_the_peak_memory_of_a_verification_chain_by_chain_does_not_grow_with_the_chains():
    small, large = peak_heap(1500), peak_heap(6000)
    # Holding every chain (about a kilobyte each) would add some 2.5 MB for the 4,500 more.
    assert large < small * 1.3 + 512 * 1024, (small, large)
