#!/usr/bin/env python
"""The signed audit ledger's costs.

    .venv/bin/python bench/audit.py [--entries 1000000] [--skip-transitions] [--keep DIR]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/tamkeen .venv/bin/python bench/audit.py

Generates an evidence bundle in the verifier's format (``tamkeen-evidence-bundle/2``) of
N entries (default 1,000,000: 100,000 projects of ten transitions each, interleaved,
signed by three successive entry keys; every key certified by a root key; a version-2
checkpoint every 1,000 entries, each naming its predecessor with the consistency proof
from it), checks that it verifies as intact, and prints:
  1. offline verification of hashes + chains + checkpoints (with their consistency
     proofs) + times + state-machine replay with the standalone verifier (one core;
     target <= 15 s);
  2. the same with every entry signature (both cores; target <= 90 s);
  3. the size of one inclusion proof and its verification time (targets <= 1 KB, <= 5 ms);
  4. the size and verification time of consistency proofs to the whole ledger: between
     the last two checkpoints, and from a few older sizes;
  5. the structural verification with an auditor's trust file (root key pinned, an
     earlier checkpoint kept, which the ledger must still contain);
  6. with DATABASE_URL on PostgreSQL: the cost of a transition through the services with
     the signed ledger against the plain append of the foundation (target <= 1.3x).

The generated bundle is written to a temporary directory and removed afterwards
(``--keep DIR`` writes it to DIR and keeps it, e.g. to run ``verify.py`` on it).

``--projects P`` makes P chains of entries / P entries each (the ten steps, then
state-keeping visits) instead of entries / 10 chains. ``--generate-only --keep DIR`` only
writes the bundle, streaming (no leaf kept in memory: any size the disk holds), for the
memory measures — the verifier's peak memory with a fixed number of chains at two sizes:

    .venv/bin/python bench/audit.py --entries 1000000 --projects 100000 --generate-only --keep /tmp/b1m
    .venv/bin/python bench/audit.py --entries 5000000 --projects 100000 --generate-only --keep /tmp/b5m
    /usr/bin/time -v .venv/bin/python ledger/tamkeen_verify.py /tmp/b1m --quiet   # "Maximum resident set size"
    /usr/bin/time -v .venv/bin/python ledger/tamkeen_verify.py /tmp/b5m --quiet
"""

import argparse
import base64
import json
import multiprocessing
import os
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "ledger"))  # the standalone verifier, without Django

import tamkeen_verify as tv  # noqa: E402

PATH = [  # the ten transitions of a project from creation to launch
    ("create", "", "draft"), ("submit", "draft", "submitted"), ("screen_ok", "submitted", "eligible"),
    ("schedule", "eligible", "in_committee"), ("decide_approve", "in_committee", "approved"),
    ("enrol", "approved", "in_training"), ("complete_training", "in_training", "trained"),
    ("open_funding", "trained", "funding"), ("equipment_received", "funding", "equipped"),
    ("launch", "equipped", "launched"),
]
ROLES = {"create": "association_agent", "submit": "association_agent", "decide_approve": "committee_chair",
         "open_funding": "finance_officer", "launch": "mentor"}
START = datetime(2025, 1, 6, 8, 0, tzinfo=UTC)
ENTRY_SPACING_US = 50_000  # one entry every 50 ms
CHECKPOINT_EVERY = 1000


VISIT = ("visit", "launched", "launched")  # a state-keeping act, to make chains longer than PATH


def steps_of(length: int) -> list:
    """The transitions of a chain of ``length`` entries: PATH, then visits."""
    return PATH[:length] + [VISIT] * max(0, length - len(PATH))


def state_machines():
    transitions = [{"name": n, "sources": [s], "targets": [t]} for n, s, t in PATH[1:] + [VISIT]]
    # The audited fields the replay folds from the chain and compares with the live rows.
    fold = [
        {"field": "approved_amount", "kind": "decimal",
         "set": {"create": {"value": None}, "decide_approve": {"payload": ["amount"]}}},
        {"field": "created_by", "kind": "id", "set": {"create": {"actor": True}}},
    ]
    return {"workflow.grantproject": {"initial": "draft", "transitions": transitions, "restores": {}, "fold": fold,
                                      "keeps_state": [VISIT[0]]}}


def fmt(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _generate_part(args):
    """Write entries.tsv lines for projects [first, last) — in a worker process."""
    part_path, first, last, keys, total_projects, length = args
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    signers = [(k["id"].encode(), Ed25519PrivateKey.from_private_bytes(bytes.fromhex(k["private"])), k["from"])
               for k in keys]
    handle = open(part_path, "wb")  # noqa: SIM115 - closed below
    prev = {}
    # Interleave: step s of every project, then step s+1 ..., so chains mix in the global order
    # (the lines are written in that order: each part is sorted by global position).
    for step, (name, source, target) in enumerate(steps_of(length)):
        for project in range(first, last):
            global_position = step * total_projects + project
            at = entry_time(global_position)
            key_id, signer, _start = next(s for s in reversed(signers) if s[2] <= at)
            payload = {"amount": "45000.00", "reason": "Dossier complet et conforme."} if name == "decide_approve" \
                else {}
            doc = {
                "v": 1, "entity_type": "workflow.grantproject", "entity_id": str(project + 1), "seq": step + 1,
                "transition": name, "from": source, "to": target, "actor": 7 + step, "role": ROLES.get(name, "program_officer"),
                "request_id": f"{global_position:032x}", "payload": payload,
                "prev": prev.get(project, tv.GENESIS), "at": fmt(at),
            }
            canonical = tv.canonical_bytes(doc)
            digest = tv.entry_hash(canonical)
            prev[project] = digest
            columns = tv.canonical_bytes({k: doc[k] for k in tv.COLUMN_FIELDS})
            signature = base64.b64encode(signer.sign(bytes.fromhex(digest)))
            # CANONICAL, HASH, KEY_ID, SIG, INDEX, COLUMNS, ID: the global index is the
            # position, and the database id follows the insertion order (index + 1).
            handle.write(str(global_position).encode() + b" " + b"\t".join([
                canonical, digest.encode(), key_id, signature, str(global_position).encode(), columns,
                str(global_position + 1).encode(),
            ]) + b"\n")
    handle.close()
    return part_path


def _read_part(path):
    with open(path, "rb") as handle:
        for line in handle:
            position, rest = line.split(b" ", 1)
            yield int(position), rest


def entry_time(position: int) -> datetime:
    """Entry ``position`` of the global order is dated START + 50 ms per position."""
    return START + timedelta(microseconds=position * ENTRY_SPACING_US)


def _new_key():
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    private = Ed25519PrivateKey.generate()
    public = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return private, public.hex()


def _certified_key(root, root_public: str, public: str, purpose: str, valid_from: datetime,
                   valid_until: datetime | None) -> dict:
    """A key as keys.json lists it, with the root's certificate of its statement."""
    statement = tv.key_statement(public_key_hex=public, purpose=purpose, valid_from=fmt(valid_from))
    certificate = {"statement": statement, "root_key_id": tv.key_id_for(root_public),
                   "signature": base64.b64encode(root.sign(tv.canonical_bytes(statement))).decode()}
    return {"id": tv.key_id_for(public), "purpose": purpose, "public_key": public, "valid_from": fmt(valid_from),
            "valid_until": fmt(valid_until) if valid_until else None, "certificate": certificate}


def generate_bundle(directory: Path, entries: int, workers: int, projects: int | None = None,
                    keep_leaves: bool = True) -> dict:
    """``projects``: how many chains (default: entries / 10, each the ten steps of PATH;
    fewer make longer chains, PATH then visits). ``keep_leaves``: keep every leaf and
    line in memory for the proofs' measures (off: the generation streams, for sizes
    that would not fit)."""
    import heapq

    from cryptography.hazmat.primitives import serialization

    projects = projects or entries // len(PATH)
    length = entries // projects
    total = projects * length
    span = timedelta(microseconds=total * ENTRY_SPACING_US)
    root, root_public = _new_key()  # the ledger's root key: it certifies every other key
    keys = []
    for number in range(3):  # three successive entry keys
        private, public = _new_key()
        raw = private.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                    serialization.NoEncryption())
        keys.append({"id": tv.key_id_for(public), "private": raw.hex(), "public": public,
                     "from": START + span * number / 3 - timedelta(seconds=1 if number == 0 else 0)})
    chunks = [(directory / f"part{i}", projects * i // workers, projects * (i + 1) // workers,
               keys, projects, length) for i in range(workers)]
    with multiprocessing.Pool(workers) as pool:
        parts = pool.map(_generate_part, chunks)
    # Merge the parts in global order (each part is one interleaving of its projects, in order).
    merged = heapq.merge(*(_read_part(part) for part in parts), key=lambda r: r[0])
    records = [] if keep_leaves else None
    heads = []
    checkpoint_private, checkpoint_public = _new_key()
    checkpoint_key_id = tv.key_id_for(checkpoint_public)
    # Version 2 checkpoints, one every CHECKPOINT_EVERY entries: each names its predecessor
    # (size and root; 0 and the empty tree's root for the first) and carries the RFC 9162
    # consistency proof from it, built from the predecessor's frontier and the new leaves.
    # A checkpoint is dated 10 ms after the last entry it covers, so every entry is dated
    # before the checkpoint that first covers it and after the one before.
    leaves: list[bytes] = []
    frontier: list = []
    previous_frontier: list = []
    previous_size, previous_root = 0, tv.EMPTY_ROOT.hex()
    checkpoints = []
    with open(directory / "entries.tsv", "wb") as out:
        for index, (position, line) in enumerate(merged):
            out.write(line)
            if records is not None:
                records.append((position, line))
            digest = line.split(b"\t", 2)[1].decode()
            if index >= total - projects:
                heads.append(digest)
            leaf = tv.leaf_hash(digest)
            leaves.append(leaf)
            tv.frontier_append(frontier, leaf)
            size = index + 1
            if size % CHECKPOINT_EVERY == 0 or size == total:
                root_hex = tv.frontier_root(frontier).hex()
                doc = {"v": tv.CHECKPOINT_VERSION, "size": size, "root": root_hex,
                       "at": fmt(entry_time(index) + timedelta(milliseconds=10)), "key": checkpoint_key_id,
                       "prev_size": previous_size, "prev_root": previous_root}
                canonical = tv.canonical_bytes(doc)
                proof = tv.consistency_proof_from_frontier(
                    previous_frontier, leaves[previous_size:size] if keep_leaves else leaves)
                checkpoints.append(b"\t".join([
                    canonical, checkpoint_key_id.encode(), base64.b64encode(checkpoint_private.sign(canonical)),
                    b",".join(base64.b64encode(h) for h in proof),
                ]))
                previous_frontier, previous_size, previous_root = list(frontier), size, root_hex
                if not keep_leaves:
                    leaves = []
    for part in parts:
        os.remove(part)
    (directory / "checkpoints.tsv").write_bytes(b"\n".join(checkpoints) + b"\n")
    key_list = [
        _certified_key(root, root_public, k["public"], "entry", k["from"],
                       keys[i + 1]["from"] if i + 1 < len(keys) else None)
        for i, k in enumerate(keys)
    ] + [_certified_key(root, root_public, checkpoint_public, "checkpoint", START - timedelta(days=1), None)]
    root_entry = {"id": tv.key_id_for(root_public), "public_key": root_public}
    (directory / "keys.json").write_text(json.dumps({"root": root_entry, "keys": key_list}, indent=2))
    (directory / "cosignatures.json").write_text("{}")
    (directory / "state_machines.json").write_text(json.dumps(state_machines()))
    # Each project as its row would be: launched, its chain head (the last step's entry,
    # the last ``projects`` records), the approved amount and who created it.
    live = {"workflow.grantproject": {
        str(p + 1): {"state": steps_of(length)[-1][2], "seq": length, "head": heads[p],
                     "approved_amount": "45000.00" if length >= 5 else None,
                     "created_by": 7}
        for p in range(projects)
    }}
    (directory / "live_state.json").write_text(json.dumps(live))
    shutil.copyfile(ROOT / "ledger" / "tamkeen_verify.py", directory / "verify.py")
    names = ["entries.tsv", "checkpoints.tsv", "keys.json", "cosignatures.json", "state_machines.json",
             "live_state.json", "verify.py"]
    manifest = {"format": tv.BUNDLE_FORMAT, "created_at": fmt(datetime.now(UTC)), "entries": total,
                "checkpoints": len(checkpoints), "files": {n: tv._sha256_file(str(directory / n)) for n in names},
                "newest_checkpoint": checkpoints[-1].split(b"\t")[0].decode() if checkpoints else None,
                "definitions": tv.definitions_digest(state_machines())}
    # Signed by the checkpoint key, as the server's export signs it.
    manifest["signature"] = {"key_id": checkpoint_key_id, "signature": base64.b64encode(
        checkpoint_private.sign(tv.manifest_message(manifest))).decode()}
    (directory / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True))
    return {"total": total, "leaves": leaves, "records": records, "keys": key_list, "root": root_entry,
            "checkpoints": checkpoints}


def bench_proof(generated) -> tuple[int, int, float]:
    """Build one inclusion proof against the last checkpoint; return (path bytes, file bytes, ms)."""
    leaves, records, checkpoints = generated["leaves"], generated["records"], generated["checkpoints"]
    last = checkpoints[-1].split(b"\t")
    size = json.loads(last[0])["size"]
    index = size // 3
    path = tv.inclusion_path(leaves[:size], index)
    line = records[index][1].split(b"\t")
    proof = {
        "format": tv.PROOF_FORMAT,
        "entry": {"id": int(line[6]), "canonical": line[0].decode(), "hash": line[1].decode(),
                  "key_id": line[2].decode(), "signature": line[3].decode()},
        "index": index,
        "checkpoint": {"canonical": last[0].decode(), "key_id": last[1].decode(), "signature": last[2].decode()},
        "path": [base64.b64encode(h).decode() for h in path],
        "keys": [k for k in generated["keys"] if k["id"] in (line[2].decode(), last[1].decode())],
        "root": generated["root"],
    }
    text = json.dumps(proof, separators=(",", ":"))
    runs = 200
    started = time.perf_counter()
    for _ in range(runs):
        problems = tv.verify_proof(json.loads(text))
    elapsed_ms = (time.perf_counter() - started) * 1000 / runs
    assert not problems, problems
    return sum(len(h) for h in path), len(text.encode()), elapsed_ms


def _time_consistency(old_size, new_size, old_root: bytes, new_root: bytes, proof: list[bytes]) -> float:
    """Verify a consistency proof (RFC 9162 §2.1.4.2) many times; return ms per check."""
    assert tv.verify_consistency(old_size, new_size, old_root, new_root, proof), (old_size, new_size)
    runs = 2000
    started = time.perf_counter()
    for _ in range(runs):
        tv.verify_consistency(old_size, new_size, old_root, new_root, proof)
    return (time.perf_counter() - started) * 1000 / runs


def bench_consistency(directory: Path, generated, old_sizes) -> list[tuple[int, int, int, float]]:
    """Consistency proofs to the whole ledger: (old size, new size, hashes, ms) for the one
    between the last two checkpoints, as the bundle carries it, then for each old size,
    built from the old tree's frontier and the leaves appended since."""
    checkpoints = tv.read_checkpoints(str(directory / "checkpoints.tsv"))
    last = json.loads(checkpoints[-1].canonical)
    new_size, new_root = last["size"], bytes.fromhex(last["root"])
    old_size, old_root = last["prev_size"], bytes.fromhex(last["prev_root"])
    proof = checkpoints[-1].consistency
    measured = [(old_size, new_size, len(proof), _time_consistency(old_size, new_size, old_root, new_root, proof))]
    leaves, frontier, snapshots = generated["leaves"], [], {}
    wanted = sorted(s for s in old_sizes if 0 < s < new_size)
    for size, leaf in enumerate(leaves[: wanted[-1] if wanted else 0], 1):
        tv.frontier_append(frontier, leaf)
        if size in wanted:
            snapshots[size] = list(frontier)
    for size in sorted(wanted, reverse=True):
        proof = tv.consistency_proof_from_frontier(snapshots[size], leaves[size:new_size])
        root = tv.frontier_root(snapshots[size])
        measured.append((size, new_size, len(proof), _time_consistency(size, new_size, root, new_root, proof)))
    return measured


def bench_trust_file(directory: Path, generated, kept_size: int) -> tuple[int, float, tv.Report]:
    """Verify the bundle as an auditor with a trust file: the root key pinned, and an
    earlier checkpoint kept, which the ledger's first entries must still give."""
    kept = next(c for c in tv.read_checkpoints(str(directory / "checkpoints.tsv"))
                if json.loads(c.canonical)["size"] >= kept_size)
    trust = tv.Trust(root_public_key=generated["root"]["public_key"], checkpoint_record={
        "canonical": kept.canonical.decode(), "key_id": kept.key_id,
        "signature": base64.b64encode(kept.signature).decode()})
    started = time.perf_counter()
    report = tv.verify_bundle(str(directory), trust=trust)
    elapsed = time.perf_counter() - started
    assert report.ok and report.trust == "trust file", report.summary()
    return trust.checkpoint["size"], elapsed, report


def bench_transitions(rounds: int) -> tuple[float, float] | None:
    """Per-transition time through the services: signed ledger vs plain append (PostgreSQL)."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        return None
    base, _, _name = url.rpartition("/")
    os.environ["DATABASE_URL"] = f"{base}/tamkeen_bench_audit"
    import psycopg2

    admin = psycopg2.connect(f"{base}/postgres")
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = 'tamkeen_bench_audit'")
        if not cursor.fetchone():
            cursor.execute("CREATE DATABASE tamkeen_bench_audit")
    admin.close()
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("TAMKEEN_DEV_KEYS", "1")
    import django

    django.setup()
    import uuid
    from datetime import date
    from decimal import Decimal

    from django.contrib.auth.models import Group, User
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from core.request_id import current_request_id
    from ledger import transitions as audited_transition
    from workflow import services
    from workflow.models import ActivitySector, Commune, Program

    call_command("migrate", verbosity=0)
    officer, _ = User.objects.get_or_create(username="bench_audit_officer")
    officer.groups.set([Group.objects.get(name="program_officer")])
    agent, _ = User.objects.get_or_create(username="bench_audit_agent")
    agent.groups.set([Group.objects.get(name="association_agent")])
    officer, agent = User.objects.get(pk=officer.pk), User.objects.get(pk=agent.pk)
    program, _ = Program.objects.get_or_create(code="bench-audit", defaults={
        "name": "Bench", "year": 2025, "envelope": Decimal("1000000"), "project_ceiling": Decimal("100000")})
    beneficiary = services.beneficiary_create(
        actor=agent, first_name="Bench", last_name=uuid.uuid4().hex[:8], first_name_ar="ب", last_name_ar="ب",
        cin=f"BA{uuid.uuid4().int % 900000 + 100000}", phone="0612345678", gender="F",
        birth_date=date(1990, 1, 1), commune=Commune.objects.get(code="nador"), is_woman_in_difficulty=True,
        consent_given=True, consent_date=date(2025, 1, 1))
    project = services.project_create(
        actor=agent, program=program, beneficiary=beneficiary, title="Bench", description="Bench",
        sector=ActivitySector.objects.first(), requested_amount="50000", own_contribution="25000")

    def plain_append(*, entity, transition, from_state, to_state, actor, role, payload=None, save_fields):
        """The foundation's plain append: the same rows, chain position and statements
        (``ledger.writes``), with no canonical bytes, hash or signature."""
        from ledger import writes
        from ledger.payload import to_jsonable

        seq, digest = entity.audit_seq + 1, uuid.uuid4().hex
        entity.audit_seq, entity.audit_head = seq, digest
        return writes.write_transition(entity, save_fields, from_state=from_state, entry={
            "entity_type": "workflow.grantproject", "entity_id": str(entity.pk), "seq": seq,
            "transition": transition, "from_state": from_state, "to_state": to_state, "actor_id": actor.pk,
            "actor_role": role, "request_id": current_request_id(), "payload": to_jsonable(payload or {}),
            "created_at": timezone.now(), "canonical": b"", "prev_hash": "", "entry_hash": digest,
            "key_id": "", "signature": b"",
        })

    def run(count):
        started = time.perf_counter()
        for _ in range(count // 2):
            services.project_suspend(project_id=project.pk, actor=officer, reason="bench")
            services.project_resume(project_id=project.pk, actor=officer)
        return (time.perf_counter() - started) / (count // 2 * 2)

    # The plain append replaces the recorder that apply_transition calls, from here.
    signed_recorder = audited_transition.record_transition
    run(200)  # warm up
    timings = {"signed": [], "plain": []}
    try:
        for _ in range(3):  # alternate to even out drift
            audited_transition.record_transition = plain_append
            timings["plain"].append(run(rounds))
            audited_transition.record_transition = signed_recorder
            timings["signed"].append(run(rounds))
    finally:
        audited_transition.record_transition = signed_recorder
    connection.close()
    return min(timings["signed"]), min(timings["plain"])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entries", type=int, default=1_000_000, help="ledger size (default 1,000,000)")
    parser.add_argument("--transitions", type=int, default=2000, help="transitions per timing round")
    parser.add_argument("--skip-transitions", action="store_true", help="skip the PostgreSQL part")
    parser.add_argument("--keep", help="write the generated bundle here and keep it")
    parser.add_argument("--projects", type=int,
                        help="number of chains (default: entries / 10); fewer give longer chains (visits)")
    parser.add_argument("--generate-only", action="store_true",
                        help="only write the bundle (to --keep), streaming: for the memory measures (see above) "
                             "at sizes whose leaves would not fit in memory")
    args = parser.parse_args()
    if args.generate_only:
        if not args.keep:
            parser.error("--generate-only needs --keep DIR")
        started = time.perf_counter()
        Path(args.keep).mkdir(parents=True, exist_ok=True)
        generated = generate_bundle(Path(args.keep), args.entries, os.cpu_count() or 1, args.projects,
                                    keep_leaves=False)
        print(f"generated {generated['total']:,} entries, {len(generated['checkpoints']):,} checkpoints in "
              f"{args.keep} in {time.perf_counter() - started:.1f} s")
        return
    cores = os.cpu_count() or 1
    directory = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="tamkeen-bench-audit-"))
    directory.mkdir(parents=True, exist_ok=True)
    try:
        load_before = os.getloadavg()[0]
        print(f"generating a signed ledger of {args.entries:,} entries ({cores} cores)...", flush=True)
        started = time.perf_counter()
        generated = generate_bundle(directory, args.entries, cores, args.projects)
        size_mb = (directory / "entries.tsv").stat().st_size / 2**20
        print(f"  generated {generated['total']:,} entries, {len(generated['checkpoints']):,} checkpoints, "
              f"{size_mb:,.0f} MiB in {time.perf_counter() - started:.1f} s")

        started = time.perf_counter()
        report = tv.verify_bundle(str(directory))
        structural = time.perf_counter() - started
        assert report.ok, report.summary()
        started = time.perf_counter()
        count, problems = tv.verify_signatures_parallel(str(directory), report.keys, workers=cores)
        signatures = time.perf_counter() - started
        assert not problems and count == generated["total"], (count, problems[:3])
        proof_path_bytes, proof_file_bytes, proof_ms = bench_proof(generated)
        total = generated["total"]
        consistency = bench_consistency(directory, generated, [total // 2, total // 3 + 1, 1])
        kept_size, trusted, trusted_report = bench_trust_file(directory, generated, total // 2)
        print(f"  verifier's report with the trust file (kept checkpoint of size {kept_size:,}):")
        print("\n".join("    " + line for line in trusted_report.summary().splitlines()))

        print()
        print(f"{'measure':<64} {'value':>14}  target")
        print(f"{'offline verification: hashes, chains, checkpoints, replay':<64} {structural:>12.1f} s  <= 15 s (1 core)")
        print(f"{'  + every entry signature (' + str(cores) + ' cores, added time)':<64} {signatures:>12.1f} s")
        print(f"{'  = full verification with signatures':<64} {structural + signatures:>12.1f} s  <= 90 s")
        print(f"{'inclusion proof: audit path (' + str(proof_path_bytes // 32) + ' hashes)':<64} {proof_path_bytes:>10} bytes  <= 1 KB")
        print(f"{'inclusion proof: whole JSON file (entry, checkpoint, keys)':<64} {proof_file_bytes:>10} bytes")
        print(f"{'inclusion proof verification (certificates, signatures, path)':<64} {proof_ms:>11.2f} ms  <= 5 ms")
        for number, (old, new, hashes, ms) in enumerate(consistency):
            label = "successive checkpoints" if number == 0 else "consistency proof"
            print(f"{label + f' {old:,} -> {new:,} (' + str(hashes) + ' hashes)':<64} {hashes * 32:>10} bytes")
            print(f"{'  its verification':<64} {ms:>11.3f} ms")
        print(f"{'verification with a trust file (kept checkpoint ' + f'{kept_size:,})':<64} {trusted:>12.1f} s  <= 15 s (1 core)")
        print(f"one-minute load average: {load_before:.2f} before, {os.getloadavg()[0]:.2f} after "
              "(the times are only meaningful on a quiet machine)")
        if not args.skip_transitions:
            measured = bench_transitions(args.transitions)
            if measured is None:
                print("transition cost: skipped (set DATABASE_URL=postgres://... to measure on PostgreSQL)")
            else:
                signed, plain = measured
                print(f"{'transition through the services, plain append':<58} {plain * 1000:>11.3f} ms")
                print(f"{'transition through the services, signed ledger':<58} {signed * 1000:>11.3f} ms")
                print(f"{'  ratio signed / plain':<58} {signed / plain:>12.2f} x  <= 1.3 x")
    finally:
        if not args.keep:
            shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
