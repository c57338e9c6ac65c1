#!/usr/bin/env python
"""The signed audit ledger's costs.

    .venv/bin/python bench/audit.py [--entries 1000000] [--skip-transitions]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/tamkeen .venv/bin/python bench/audit.py

Prints, for a generated ledger of N entries (default 1,000,000: 100,000 projects of ten
transitions each, interleaved, signed by three successive entry keys, a checkpoint every
1,000 entries):
  1. offline verification of hashes + chains + checkpoints + state-machine replay (and
     the audited fields and chain heads compared with the live rows) with the standalone
     verifier (one core; target <= 15 s);
  2. the same with every entry signature (both cores; target <= 90 s);
  3. the size of one inclusion proof and its verification time (targets <= 1 KB, <= 5 ms);
  4. with DATABASE_URL on PostgreSQL: the cost of a transition through the services with
     the signed ledger against the plain append of the foundation (target <= 1.3x).

The generated bundle is written to a temporary directory and removed afterwards.
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


def state_machines():
    transitions = [{"name": n, "sources": [s], "targets": [t]} for n, s, t in PATH[1:]]
    # The audited fields the replay folds from the chain and compares with the live rows.
    fold = [
        {"field": "approved_amount", "kind": "decimal",
         "set": {"create": {"value": None}, "decide_approve": {"payload": ["amount"]}}},
        {"field": "created_by", "kind": "id", "set": {"create": {"actor": True}}},
    ]
    return {"workflow.grantproject": {"initial": "draft", "transitions": transitions, "restores": {}, "fold": fold}}


def fmt(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _generate_part(args):
    """Write entries.tsv lines for projects [first, last) — in a worker process."""
    part_path, first, last, keys, total_projects = args
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    signers = [(k["id"], Ed25519PrivateKey.from_private_bytes(bytes.fromhex(k["private"])), k) for k in keys]
    lines = []
    prev = {}
    # Interleave: step s of every project, then step s+1 ..., so chains mix in the global order.
    for step, (name, source, target) in enumerate(PATH):
        for project in range(first, last):
            global_position = step * total_projects + project
            at = START + timedelta(seconds=global_position * 0.05)
            key_id, signer, _k = next(s for s in reversed(signers) if s[2]["from"] <= at)
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
            lines.append((global_position, canonical + b"\t" + digest.encode() + b"\t" + key_id.encode() + b"\t"
                          + signature + b"\t" + str(global_position).encode() + b"\t" + columns + b"\n", digest))
    with open(part_path, "wb") as handle:
        for position, line, _digest in lines:
            handle.write(str(position).encode() + b" " + line)
    return part_path


def generate_bundle(directory: Path, entries: int, workers: int) -> dict:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    projects = entries // len(PATH)
    total = projects * len(PATH)
    span = timedelta(seconds=total * 0.05)
    keys = []
    for number in range(3):  # three successive entry keys
        private = Ed25519PrivateKey.generate()
        raw = private.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                    serialization.NoEncryption())
        public = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        keys.append({"id": f"entrykey{number}", "private": raw.hex(), "public": public.hex(),
                     "from": START + span * number / 3 - timedelta(seconds=1 if number == 0 else 0)})
    chunks = [(directory / f"part{i}", projects * i // workers, projects * (i + 1) // workers,
               keys, projects) for i in range(workers)]
    with multiprocessing.Pool(workers) as pool:
        parts = pool.map(_generate_part, chunks)
    # Merge the parts in global order (each part is one interleaving of its projects).
    records = []
    for part in parts:
        with open(part, "rb") as handle:
            for line in handle:
                position, rest = line.split(b" ", 1)
                records.append((int(position), rest))
        os.remove(part)
    records.sort(key=lambda r: r[0])
    checkpoint_private = Ed25519PrivateKey.generate()
    checkpoint_public = checkpoint_private.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()
    frontier = []
    checkpoints = []
    with open(directory / "entries.tsv", "wb") as out:
        for index, (_position, line) in enumerate(records):
            out.write(line)
            tv.frontier_append(frontier, tv.leaf_hash(line.split(b"\t", 2)[1].decode()))
            if (index + 1) % 1000 == 0 or index + 1 == len(records):
                at = START + timedelta(seconds=index * 0.05 + 0.01)
                doc = {"v": 1, "size": index + 1, "root": tv.frontier_root(frontier).hex(), "at": fmt(at),
                       "key": "checkpointkey"}
                canonical = tv.canonical_bytes(doc)
                checkpoints.append(canonical + b"\tcheckpointkey\t" + base64.b64encode(checkpoint_private.sign(canonical)))
    (directory / "checkpoints.tsv").write_bytes(b"\n".join(checkpoints) + b"\n")
    key_list = [
        {"id": k["id"], "purpose": "entry", "public_key": k["public"], "valid_from": fmt(k["from"]),
         "valid_until": fmt(keys[i + 1]["from"]) if i + 1 < len(keys) else None}
        for i, k in enumerate(keys)
    ] + [{"id": "checkpointkey", "purpose": "checkpoint", "public_key": checkpoint_public,
          "valid_from": fmt(START - timedelta(days=1)), "valid_until": None}]
    (directory / "keys.json").write_text(json.dumps(key_list))
    (directory / "state_machines.json").write_text(json.dumps(state_machines()))
    # Each project as its row would be: launched, its chain head (the last step's entry,
    # the last ``projects`` records), the approved amount and who created it.
    heads = [line.split(b"\t", 2)[1].decode() for _position, line in records[-projects:]] if projects else []
    live = {"workflow.grantproject": {
        str(p + 1): {"state": "launched", "seq": len(PATH), "head": heads[p], "approved_amount": "45000.00",
                     "created_by": 7}
        for p in range(projects)
    }}
    (directory / "live_state.json").write_text(json.dumps(live))
    names = ["entries.tsv", "checkpoints.tsv", "keys.json", "state_machines.json", "live_state.json"]
    manifest = {"format": tv.BUNDLE_FORMAT, "entries": total, "checkpoints": len(checkpoints),
                "files": {n: tv._sha256_file(str(directory / n)) for n in names}}
    (directory / "manifest.json").write_text(json.dumps(manifest))
    leaves = [tv.leaf_hash(r[1].split(b"\t", 2)[1].decode()) for r in records[: min(len(records), 1 << 20)]]
    return {"total": total, "leaves": leaves, "records": records, "checkpoint_private": checkpoint_private,
            "keys": key_list, "checkpoints": checkpoints}


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
        "entry": {"id": index + 1, "canonical": line[0].decode(), "hash": line[1].decode(),
                  "key_id": line[2].decode(), "signature": line[3].decode()},
        "index": index,
        "checkpoint": {"canonical": last[0].decode(), "key_id": last[1].decode(), "signature": last[2].decode()},
        "path": [base64.b64encode(h).decode() for h in path],
        "keys": [k for k in generated["keys"] if k["id"] in (line[2].decode(), "checkpointkey")],
    }
    text = json.dumps(proof, separators=(",", ":"))
    runs = 200
    started = time.perf_counter()
    for _ in range(runs):
        problems = tv.verify_proof(json.loads(text))
    elapsed_ms = (time.perf_counter() - started) * 1000 / runs
    assert not problems, problems
    return sum(len(h) for h in path), len(text.encode()), elapsed_ms


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
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    directory = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="tamkeen-bench-audit-"))
    directory.mkdir(parents=True, exist_ok=True)
    try:
        print(f"generating a signed ledger of {args.entries:,} entries ({cores} cores)...", flush=True)
        started = time.perf_counter()
        generated = generate_bundle(directory, args.entries, cores)
        size_mb = (directory / "entries.tsv").stat().st_size / 2**20
        print(f"  generated {generated['total']:,} entries, {len(generated['checkpoints']):,} checkpoints, "
              f"{size_mb:,.0f} MiB in {time.perf_counter() - started:.1f} s")

        started = time.perf_counter()
        report = tv.verify_bundle(str(directory))
        structural = time.perf_counter() - started
        assert report.ok, report.summary()
        started = time.perf_counter()
        count, problems = tv.verify_signatures_parallel(str(directory), workers=cores)
        signatures = time.perf_counter() - started
        assert not problems and count == generated["total"], (count, problems[:3])
        proof_path_bytes, proof_file_bytes, proof_ms = bench_proof(generated)

        print()
        print(f"{'measure':<58} {'value':>14}  target")
        print(f"{'offline verification: hashes, chains, checkpoints, replay':<58} {structural:>12.1f} s  <= 15 s (1 core)")
        print(f"{'  + every entry signature (' + str(cores) + ' cores, added time)':<58} {signatures:>12.1f} s")
        print(f"{'  = full verification with signatures':<58} {structural + signatures:>12.1f} s  <= 90 s")
        print(f"{'inclusion proof: audit path (' + str(proof_path_bytes // 32) + ' hashes)':<58} {proof_path_bytes:>10} bytes  <= 1 KB")
        print(f"{'inclusion proof: whole JSON file (entry, checkpoint, keys)':<58} {proof_file_bytes:>10} bytes")
        print(f"{'inclusion proof verification (signatures + path)':<58} {proof_ms:>11.2f} ms  <= 5 ms")
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
