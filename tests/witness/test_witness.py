"""The witness, tested as it runs: a real process on loopback, fed by a ledger built in
tests/witness/_log.py. No Django database is involved."""

from __future__ import annotations

import base64
import fcntl
import hashlib
import http.client
import json
import os
import select
import signal
import stat
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from tamkeen_witness import formats, merkle, state
from tamkeen_witness.__main__ import main as witness_main

from ._log import Ledger, Tree, b64, certificate, key_id_of, leaf_data
from .conftest import WITNESS_DIR

# --- The process under test ------------------------------------------------------------


def run_cli(*arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tamkeen_witness", *arguments], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(WITNESS_DIR)}, timeout=30)


class WitnessProcess:
    """``python -m tamkeen_witness serve`` on a free loopback port, with its stderr kept."""

    def __init__(self, key: Path, state_path: Path, root_public_hex: str, log: Path):
        self.log = log
        with open(log, "ab") as stderr:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "tamkeen_witness", "serve", "--key", str(key), "--state", str(state_path),
                 "--root-public-key", root_public_hex, "--listen", "127.0.0.1:0"],
                stdout=subprocess.PIPE, stderr=stderr, text=True,
                env={**os.environ, "PYTHONPATH": str(WITNESS_DIR)},
            )
        ready, _, _ = select.select([self.process.stdout], [], [], 20)
        line = self.process.stdout.readline() if ready else ""
        if not line.startswith("listening on http://"):
            self.process.kill()
            raise AssertionError(f"the witness did not start: {line!r} {log.read_text()}")
        self.url = line.split()[-1]

    def post(self, body: dict | bytes, path: str = "/add-checkpoint") -> tuple[int, dict]:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        return _answer(urllib.request.Request(self.url + path, data=data,
                                              headers={"Content-Type": "application/json"}))

    def get(self, path: str = "/latest") -> tuple[int, dict]:
        return _answer(urllib.request.Request(self.url + path))

    def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        code = self.process.wait(timeout=10)
        self.process.stdout.close()
        return code


def _answer(request: urllib.request.Request) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.load(error)


class Setup:
    """A fresh witness (key and state made by `init`) and the ledger it watches."""

    def __init__(self, tmp_path: Path):
        self.tmp_path = tmp_path
        self.key = tmp_path / "witness.pem"
        self.state = tmp_path / "state.json"
        self.log = tmp_path / "witness.log"
        self.ledger = Ledger()
        self.processes: list[WitnessProcess] = []
        assert witness_main(["init", "--key", str(self.key), "--state", str(self.state)]) == 0
        private_key = _load_witness_key(self.key)
        self.public_hex = formats.raw_public_key(private_key).hex()
        self.witness_id = formats.key_id(formats.raw_public_key(private_key))

    def start(self) -> WitnessProcess:
        process = WitnessProcess(self.key, self.state, self.ledger.root_public_hex, self.log)
        self.processes.append(process)
        return process

    def stop_all(self) -> None:
        for process in self.processes:
            process.stop(signal.SIGKILL)

    def advance(self, witness: WitnessProcess, old_size: int, size: int) -> dict:
        """Grow the ledger to ``size`` and have the witness cosign it, checking the cosignature."""
        self.ledger.grow(size)
        request = self.ledger.request(old_size, size)
        status, body = witness.post(request)
        assert status == 200, body
        checkpoint = request["checkpoint"]["canonical"].encode("utf-8")
        assert formats.verify_cosignature(self.public_hex, body, checkpoint)
        return body


def _load_witness_key(path: Path):
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    return load_pem_private_key(path.read_bytes(), password=None)


@pytest.fixture
def setup(tmp_path):
    made = Setup(tmp_path)
    yield made
    made.stop_all()


@pytest.fixture
def witness(setup):
    return setup.start()


def refusals(setup: Setup) -> list[str]:
    return [line for line in setup.log.read_text().splitlines() if "refused" in line]


# --- The consistency verifier against an independent proof generator ------------------


def test_consistency_verifier_agrees_with_brute_force_up_to_40_leaves():
    """Every honest proof verifies; every proof touched in any way, or checked against a
    history with any one leaf changed, is refused."""
    largest = 40
    honest = Tree([leaf_data(i) for i in range(largest)])
    changed = {j: Tree([leaf_data(i, "x" if i == j else "") for i in range(largest)]) for j in range(largest)}
    for n in range(1, largest + 1):
        for m in range(1, n + 1):
            old_root, new_root, proof = honest.root(m), honest.root(n), honest.consistency(m, n)
            assert merkle.verify_consistency(m, n, old_root, new_root, proof), (m, n)
            for position in range(len(proof)):
                tampered = [*proof]
                tampered[position] = bytes([proof[position][0] ^ 1]) + proof[position][1:]
                assert not merkle.verify_consistency(m, n, old_root, new_root, tampered), (m, n, position)
            if proof:
                assert not merkle.verify_consistency(m, n, old_root, new_root, proof[:-1]), (m, n)
            assert not merkle.verify_consistency(m, n, old_root, new_root, [*proof, new_root]), (m, n)
            for j in range(n):
                rewritten = changed[j]
                # A rebuilt history: its own honest proof, but the old root the witness holds.
                if j < m:
                    assert not merkle.verify_consistency(m, n, old_root, rewritten.root(n),
                                                         rewritten.consistency(m, n)), (m, n, j)
                    assert not merkle.verify_consistency(m, n, rewritten.root(m), new_root, proof), (m, n, j)
                else:
                    assert not merkle.verify_consistency(m, n, old_root, rewritten.root(n), proof), (m, n, j)


def test_consistency_edge_cases():
    tree = Tree([leaf_data(i) for i in range(5)])
    assert merkle.verify_consistency(0, 5, merkle.EMPTY_ROOT, tree.root(), [])
    assert merkle.verify_consistency(0, 0, merkle.EMPTY_ROOT, merkle.EMPTY_ROOT, [])
    assert not merkle.verify_consistency(0, 5, merkle.EMPTY_ROOT, tree.root(), [tree.root()])
    assert merkle.verify_consistency(5, 5, tree.root(), tree.root(), [])
    assert not merkle.verify_consistency(5, 5, tree.root(), tree.root(4), [])
    assert not merkle.verify_consistency(5, 3, tree.root(5), tree.root(3), [])
    assert Tree([]).root() == merkle.EMPTY_ROOT
    # A proof runs out before the claimed size is reached: the sizes, not only the hashes, are bound.
    longer = Tree([leaf_data(i) for i in range(9)])
    assert not merkle.verify_consistency(4, 9, longer.root(4), longer.root(5), longer.consistency(4, 5))
    assert merkle.node_hash(merkle.leaf_hash(leaf_data(0)), merkle.leaf_hash(leaf_data(1))) == tree.root(2)


# --- Formats ---------------------------------------------------------------------------


def test_cosignature_message_is_the_agreed_bytes():
    checkpoint = b'{"at":"2026-12-04T20:41:45.123456Z","size":1}'
    message = formats.cosignature_message("ab" * 16, "2026-12-04T20:41:45.123456Z", checkpoint)
    digest = hashlib.sha256(checkpoint).hexdigest()
    assert message == (
        '{"checkpoint":"' + digest + '","time":"2026-12-04T20:41:45.123456Z",'
        '"type":"tamkeen-cosignature/v1","witness":"' + "ab" * 16 + '"}'
    ).encode()


def test_cosignature_verifies_only_for_its_witness_time_and_checkpoint():
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key, other = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    public_hex = formats.raw_public_key(key).hex()
    cosignature = formats.cosign(key, "2026-12-04T20:41:45.123456Z", b"{}")
    assert cosignature["witness"] == key_id_of(key)
    assert formats.verify_cosignature(public_hex, cosignature, b"{}")
    assert not formats.verify_cosignature(public_hex, cosignature, b'{"x":1}')
    assert not formats.verify_cosignature(public_hex, {**cosignature, "time": "2026-12-04T20:41:46.123456Z"}, b"{}")
    assert not formats.verify_cosignature(formats.raw_public_key(other).hex(), cosignature, b"{}")
    assert not formats.verify_cosignature(public_hex, {**cosignature, "signature": "not base64!"}, b"{}")


def test_certificate_checks():
    ledger = Ledger()
    root_hex = ledger.root_public_hex
    certified = formats.verify_certificate(ledger.certificate, root_hex)
    assert certified.key_id == key_id_of(ledger.checkpoint_key) and certified.purpose == "checkpoint"
    statement = ledger.certificate["statement"]
    lying = {**ledger.certificate, "statement": {**statement, "key_id": "0" * 32}}
    for bad in (lying, {**ledger.certificate, "root_key_id": "0" * 32}, "text", {}):
        with pytest.raises(formats.Untrusted):
            formats.verify_certificate(bad, root_hex)


# --- Cosigning growth ------------------------------------------------------------------


def test_growth_is_cosigned_step_after_step(setup, witness):
    status, latest = witness.get()
    assert (status, latest["size"], latest["root"], latest["checkpoint"]) == (200, 0, merkle.EMPTY_ROOT.hex(), None)
    assert (latest["witness"], latest["public_key"]) == (setup.witness_id, setup.public_hex)
    sizes = [0, 1, 2, 3, 4, 7, 8, 9, 16, 17, 31, 40]
    for old, new in zip(sizes, sizes[1:], strict=False):
        cosignature = setup.advance(witness, old, new)
        assert cosignature["witness"] == setup.witness_id
        status, latest = witness.get()
        assert (latest["size"], latest["root"]) == (new, setup.ledger.tree.root(new).hex())
        assert formats.verify_cosignature(setup.public_hex, cosignature, latest["checkpoint"].encode())
    # The same checkpoint again is simply cosigned again.
    setup.advance(witness, 40, 40)
    assert refusals(setup) == []


def test_checkpoints_may_carry_fields_the_witness_does_not_know(setup, witness):
    setup.ledger.grow(3)
    request = setup.ledger.request(0, 3, definitions={"grant": "sha256:abc"})
    status, body = witness.post(request)
    assert status == 200
    assert formats.verify_cosignature(setup.public_hex, body, request["checkpoint"]["canonical"].encode())


def test_a_wrong_old_size_is_a_conflict_naming_the_witness_size(setup, witness):
    setup.advance(witness, 0, 5)
    setup.ledger.grow(9)
    status, body = witness.post(setup.ledger.request(3, 9))
    assert status == 409
    assert body == {"error": "conflict", "size": 5, "root": setup.ledger.tree.root(5).hex(),
                    "message": body["message"]}
    setup.advance(witness, 5, 9)


def test_a_rollback_is_refused(setup, witness):
    setup.advance(witness, 0, 8)
    status, body = witness.post(setup.ledger.request(8, 5))
    assert (status, body["error"], body["size"]) == (409, "rollback", 8)
    assert witness.get()[1]["size"] == 8
    [line] = refusals(setup)
    assert "rollback" in line and "old_size=8" in line and "new_size=5" in line


def test_a_fork_is_refused(setup, witness):
    setup.advance(witness, 0, 8)
    other = Tree([leaf_data(i, "fork") for i in range(8)])
    status, body = witness.post(setup.ledger.request(8, 8, root=other.root()))
    assert (status, body["error"], body["size"], body["root"]) == (409, "fork", 8, setup.ledger.tree.root(8).hex())
    assert "fork" in refusals(setup)[0]


def test_a_rebuilt_history_is_refused(setup, witness):
    """The ledger rewrites entry 3 and rebuilds the tree: its proof, honest for the new
    tree, cannot reach the root the witness cosigned."""
    setup.advance(witness, 0, 8)
    rebuilt = [leaf_data(i, "rewritten" if i == 3 else "") for i in range(12)]
    setup.ledger.tree = Tree(rebuilt)
    status, body = witness.post(setup.ledger.request(8, 12))
    assert (status, body["error"]) == (422, "inconsistent")
    # Nor does the honest proof of the old history lead to the rebuilt root.
    honest = Tree([leaf_data(i) for i in range(12)])
    request = setup.ledger.request(8, 12)
    request["consistency"] = [b64(node) for node in honest.consistency(8, 12)]
    assert witness.post(request)[0] == 422
    assert witness.get()[1]["size"] == 8
    assert all("inconsistent" in line and "new_size=12" in line for line in refusals(setup))


def test_untrusted_signers_are_refused(setup, witness):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    ledger = setup.ledger
    ledger.grow(4)
    stranger, other_root = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    entry_key = Ed25519PrivateKey.generate()
    cases = {
        "uncertified signer": {**ledger.request(0, 4, signer=stranger)},
        "certificate from another root": {**ledger.request(0, 4, signer=stranger),
                                          "key_certificate": certificate(other_root, stranger)},
        "key certified for entries": {**ledger.request(0, 4, signer=entry_key),
                                      "key_certificate": certificate(ledger.root_key, entry_key, purpose="entry")},
        "signed before the key was valid": ledger.request(0, 4, at="2025-12-31T23:59:59.999999Z"),
    }
    cases["checkpoint naming another key"] = ledger.request(0, 4, names=key_id_of(stranger))
    relabelled = ledger.request(0, 4)
    relabelled["checkpoint"]["key_id"] = key_id_of(stranger)
    cases["signature attributed to another key"] = relabelled
    forged = ledger.request(0, 4)
    forged["checkpoint"]["signature"] = b64(stranger.sign(forged["checkpoint"]["canonical"].encode()))
    cases["signature by another key"] = forged
    for name, request in cases.items():
        status, body = witness.post(request)
        assert (status, body["error"]) == (403, "untrusted_key"), name
    assert witness.get()[1]["size"] == 0
    assert len(refusals(setup)) == len(cases)


def test_malformed_requests_are_refused(setup, witness):
    setup.ledger.grow(4)
    good = setup.ledger.request(0, 4)
    not_canonical = json.dumps(json.loads(good["checkpoint"]["canonical"]), indent=1)
    cases = [
        b"not json",
        b"[]",
        {**good, "old_size": "0"},
        {**good, "old_size": True},
        {**good, "consistency": ["%%%"]},
        {**good, "consistency": [base64.b64encode(b"short").decode()]},
        {**good, "checkpoint": {**good["checkpoint"], "canonical": not_canonical}},
        {**good, "checkpoint": {**good["checkpoint"], "canonical": '{"v":2}'}},
        {key: value for key, value in good.items() if key != "key_certificate"},
    ]
    for body in cases:
        status, answer = witness.post(body)
        assert (status, answer["error"]) == (400, "malformed"), body
    assert witness.get()[1]["size"] == 0
    assert witness.post(good)[0] == 200


def test_unknown_routes_and_oversized_bodies(witness):
    assert witness.get("/nothing")[0] == 404
    assert witness.post({}, path="/latest")[0] == 404
    host, port = witness.url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    connection.putrequest("POST", "/add-checkpoint")
    connection.putheader("Content-Length", str(1024 * 1024 + 1))
    connection.endheaders()
    response = connection.getresponse()
    assert (response.status, json.load(response)["error"]) == (413, "too_large")
    connection.close()


# --- Memory across restarts, processes and crashes -------------------------------------


def test_state_survives_a_restart(setup, witness):
    setup.advance(witness, 0, 5)
    assert witness.stop(signal.SIGKILL) != 0
    again = setup.start()
    status, latest = again.get()
    assert (latest["size"], latest["root"]) == (5, setup.ledger.tree.root(5).hex())
    assert again.post(setup.ledger.request(0, 3))[1]["error"] == "rollback"
    setup.advance(again, 5, 9)
    assert again.stop(signal.SIGTERM) == 0
    shown = run_cli("show", "--state", str(setup.state))
    assert shown.returncode == 0 and "size    9" in shown.stdout


def test_two_processes_on_one_state_never_both_advance_from_the_same_size(setup):
    first, second = setup.start(), setup.start()
    setup.ledger.grow(9)
    answers = {}

    def send(name, process, size):
        answers[name] = process.post(setup.ledger.request(0, size))[0]

    threads = [threading.Thread(target=send, args=("first", first, 5)),
               threading.Thread(target=send, args=("second", second, 9))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answers.values()) == [200, 409]


def test_the_witness_waits_for_the_state_lock(setup, witness):
    """While another process holds the state lock, the witness neither reads nor advances."""
    setup.ledger.grow(3)
    answers = []
    with state.state_lock(str(setup.state)):
        sender = threading.Thread(target=lambda: answers.append(witness.post(setup.ledger.request(0, 3))))
        sender.start()
        sender.join(timeout=0.5)
        assert sender.is_alive() and answers == []
    sender.join(timeout=10)
    assert answers[0][0] == 200


def test_the_state_lock_is_exclusive(tmp_path):
    path = str(tmp_path / "state.json")
    with state.state_lock(path):
        descriptor = os.open(path + ".lock", os.O_RDWR)
        try:
            with pytest.raises(BlockingIOError):
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        finally:
            os.close(descriptor)


def test_the_state_file_is_never_left_half_written(tmp_path, monkeypatch):
    path = tmp_path / "state.json"
    first = state.empty_state("ab" * 16)
    state.create_state(str(path), first)
    before = path.read_bytes()
    advanced = state.WitnessState(witness="ab" * 16, size=3, root="cd" * 32, checkpoint="{}", time="t")

    def crash(*arguments):
        raise OSError("disk gone")

    for step in ("fsync", "replace"):
        with monkeypatch.context() as patch:
            patch.setattr(state.os, step, crash)
            with pytest.raises(OSError):
                state.write_state(str(path), advanced)
        assert path.read_bytes() == before
        assert sorted(p.name for p in tmp_path.iterdir()) == ["state.json"]
    state.write_state(str(path), advanced)
    assert state.read_state(str(path)) == advanced
    with pytest.raises(state.StateError):
        state.create_state(str(path), first)
    assert state.read_state(str(path)) == advanced


# --- The command line ------------------------------------------------------------------


def test_init_makes_a_private_key_and_refuses_to_overwrite(tmp_path):
    key, state_path = tmp_path / "k.pem", tmp_path / "s.json"
    made = run_cli("init", "--key", str(key), "--state", str(state_path))
    assert made.returncode == 0, made.stderr
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert key.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    private_key = _load_witness_key(key)
    assert formats.key_id(formats.raw_public_key(private_key)) in made.stdout
    assert formats.raw_public_key(private_key).hex() in made.stdout
    assert state.read_state(str(state_path)).size == 0
    again = run_cli("init", "--key", str(key), "--state", str(tmp_path / "other.json"))
    assert again.returncode == 1 and "already exists" in again.stderr
    assert _load_witness_key(key).private_bytes_raw() == private_key.private_bytes_raw()


def test_usage_errors_exit_2(tmp_path, capsys):
    for arguments in ([], ["frobnicate"], ["serve", "--key", "k", "--state", "s"],
                      ["serve", "--key", "k", "--state", "s", "--root-public-key", "XYZ"],
                      ["serve", "--key", "k", "--state", "s", "--root-public-key", "0" * 64, "--listen", "nowhere"]):
        with pytest.raises(SystemExit) as exit_:
            witness_main(arguments)
        assert exit_.value.code == 2, arguments
    with pytest.raises(SystemExit) as exit_:
        witness_main(["serve", "--help"])
    assert exit_.value.code == 0 and "--root-public-key" in capsys.readouterr().out
    assert witness_main(["show", "--state", str(tmp_path / "missing.json")]) == 1
    assert "no state file" in capsys.readouterr().err
