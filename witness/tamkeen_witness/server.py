"""The witness's HTTP service: ``POST /add-checkpoint`` and ``GET /latest``.

The decision to cosign is taken under one lock (a thread lock for this process, a file
lock for any other process on the same state), and the new state is on disk before the
cosignature leaves: a witness that forgot what it signed could be led to sign a fork.
"""

from __future__ import annotations

import json
import socket
import socketserver
import sys
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tamkeen_witness.formats import (
    Checkpoint,
    Malformed,
    Untrusted,
    check_checkpoint_signer,
    cosign,
    decode_base64,
    key_id,
    now,
    parse_checkpoint,
    raw_public_key,
)
from tamkeen_witness.merkle import HASH_SIZE, ConsistencyError, check_consistency
from tamkeen_witness.state import WitnessState, read_state, state_lock, write_state

MAX_BODY = 1024 * 1024
# A proof has at most about two hashes per level of the tree; 2**64 entries is plenty.
MAX_PROOF_LENGTH = 128


@dataclass(frozen=True)
class Reply:
    """An HTTP status and its JSON body."""

    status: int
    body: dict


@dataclass(frozen=True)
class AddCheckpoint:
    """A request to cosign a checkpoint, read but not yet trusted."""

    old_size: int
    proof: list[bytes]
    checkpoint: Checkpoint
    signer_key_id: str
    signature: str
    certificate: object


def parse_add_checkpoint(body: bytes) -> AddCheckpoint:
    """Read an add-checkpoint request, raising Malformed for anything out of shape."""
    try:
        document = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise Malformed("the body is not UTF-8 JSON") from None
    if not isinstance(document, dict):
        raise Malformed("the body is not a JSON object")
    old_size = document.get("old_size")
    if type(old_size) is not int or old_size < 0:
        raise Malformed("old_size must be a non-negative integer")
    signed = document.get("checkpoint")
    if not isinstance(signed, dict) or not all(isinstance(signed.get(k), str)
                                               for k in ("canonical", "key_id", "signature")):
        raise Malformed("checkpoint must be an object with the strings canonical, key_id and signature")
    if "key_certificate" not in document:
        raise Malformed("key_certificate is missing")
    return AddCheckpoint(
        old_size=old_size,
        proof=_parse_proof(document.get("consistency")),
        checkpoint=parse_checkpoint(signed["canonical"].encode("utf-8")),
        signer_key_id=signed["key_id"],
        signature=signed["signature"],
        certificate=document["key_certificate"],
    )


def _parse_proof(items: object) -> list[bytes]:
    """A consistency proof: a list of base64 strings, each a 32-byte hash."""
    if not isinstance(items, list) or len(items) > MAX_PROOF_LENGTH:
        raise Malformed(f"consistency must be a list of at most {MAX_PROOF_LENGTH} base64 hashes")
    proof = [decode_base64(item, "a consistency hash") for item in items]
    if any(len(node) != HASH_SIZE for node in proof):
        raise Malformed("every consistency hash must be 32 bytes")
    return proof


def judge(state: WitnessState, request: AddCheckpoint) -> Reply | None:
    """The refusal the state calls for, or None when the checkpoint may be cosigned.

    Rollbacks and forks are named before a mere conflict of sizes, so a client retrying
    on "conflict" is never sent round in circles by a checkpoint that can never pass.
    """
    checkpoint = request.checkpoint
    if checkpoint.size < state.size:
        return _refusal(409, "rollback", state, f"the witness has cosigned a tree of {state.size} entries")
    if checkpoint.size == state.size:
        if checkpoint.root != state.root:
            return _refusal(409, "fork", state, f"the witness cosigned another root for size {state.size}")
        return None
    if request.old_size != state.size:
        return _refusal(409, "conflict", state, f"the witness is at size {state.size}, not {request.old_size}")
    try:
        check_consistency(state.size, checkpoint.size, bytes.fromhex(state.root), bytes.fromhex(checkpoint.root),
                          request.proof)
    except ConsistencyError as error:
        return Reply(422, {"error": "inconsistent", "message": str(error)})
    return None


def _refusal(status: int, error: str, state: WitnessState, message: str) -> Reply:
    return Reply(status, {"error": error, "size": state.size, "root": state.root, "message": message})


class Witness:
    """The witness itself: its key, its trust root and its state, behind one lock."""

    def __init__(self, private_key: Ed25519PrivateKey, state_path: str, root_public_key_hex: str,
                 log=None):
        self.private_key = private_key
        self.public_key_hex = raw_public_key(private_key).hex()
        self.key_id = key_id(raw_public_key(private_key))
        self.state_path = state_path
        self.root_public_key_hex = root_public_key_hex
        self._lock = threading.Lock()
        self._log = log

    def latest(self) -> Reply:
        """What the witness has cosigned last, for clients choosing their old_size."""
        state = read_state(self.state_path)
        return Reply(200, {"witness": self.key_id, "public_key": self.public_key_hex, "size": state.size,
                           "root": state.root, "checkpoint": state.checkpoint})

    def add_checkpoint(self, body: bytes) -> Reply:
        """Cosign the checkpoint in ``body`` if it is trusted and extends what was cosigned before."""
        try:
            request = parse_add_checkpoint(body)
        except Malformed as error:
            return self._refused(Reply(400, {"error": "malformed", "message": str(error)}), None)
        try:
            check_checkpoint_signer(request.checkpoint, request.signer_key_id, request.signature,
                                    request.certificate, self.root_public_key_hex)
        except Untrusted as error:
            return self._refused(Reply(403, {"error": "untrusted_key", "message": str(error)}), request)
        with self._lock, state_lock(self.state_path):
            state = read_state(self.state_path)
            refusal = judge(state, request)
            if refusal is not None:
                return self._refused(refusal, request, state)
            return self._advance(state, request.checkpoint)

    def _advance(self, state: WitnessState, checkpoint: Checkpoint) -> Reply:
        """Record the new tree durably, then cosign it: never a signature the state does not remember."""
        time = now()
        write_state(self.state_path, WitnessState(witness=self.key_id, size=checkpoint.size, root=checkpoint.root,
                                                  checkpoint=checkpoint.canonical.decode("utf-8"), time=time))
        self.say(f"cosigned size {checkpoint.size} (from {state.size}) root {checkpoint.root}")
        return Reply(200, cosign(self.private_key, time, checkpoint.canonical))

    def _refused(self, reply: Reply, request: AddCheckpoint | None, state: WitnessState | None = None) -> Reply:
        """Tell the operator, in one line, what was refused and between which sizes."""
        old = request.old_size if request else "?"
        new = request.checkpoint.size if request else "?"
        held = f", witness at {state.size}" if state else ""
        self.say(f"refused {reply.body['error']}: old_size={old} new_size={new}{held}: "
                 f"{reply.body.get('message', '')}")
        return reply

    def say(self, line: str) -> None:
        """One line on stderr, so an operator following the log sees every decision."""
        print(f"tamkeen-witness: {line}", file=self._log or sys.stderr, flush=True)


class _Handler(BaseHTTPRequestHandler):
    """Routes the two endpoints; every answer, errors included, is JSON."""

    server_version = "tamkeen-witness"
    # A client that stops sending mid-request must not hold a thread (or a shutdown) forever.
    timeout = 30

    def do_GET(self):
        if self._route() == "/latest":
            self._send(self._safely(self.server.witness.latest))
        else:
            self._not_found()

    def do_POST(self):
        if self._route() != "/add-checkpoint":
            self.close_connection = True
            return self._not_found()
        body = self._read_body()
        if body is not None:
            self._send(self._safely(self.server.witness.add_checkpoint, body))

    def _safely(self, answer, *arguments) -> Reply:
        """The answer, or a JSON 500 when the state cannot be read or written: a client must
        never mistake a failure to remember for a refusal, nor get no answer at all."""
        try:
            return answer(*arguments)
        except Exception as error:  # the operator sees it in the log, the client gets a 500
            self.server.witness.say(f"internal error: {type(error).__name__}: {error}")
            return Reply(500, {"error": "internal", "message": "the witness could not answer; see its log"})

    def _not_found(self):
        self._send(Reply(404, {"error": "not_found", "message": f"no {self.command} {self._route()}"}))

    do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _not_found

    def _route(self) -> str:
        return urlsplit(self.path).path

    def _read_body(self) -> bytes | None:
        """The request body, or None after answering why it will not be read."""
        length = self.headers.get("Content-Length")
        if length is None or not length.isdigit():
            self.close_connection = True
            self._send(Reply(400, {"error": "malformed", "message": "a Content-Length is required"}))
            return None
        if int(length) > MAX_BODY:
            self.close_connection = True
            self._send(Reply(413, {"error": "too_large", "message": f"bodies are limited to {MAX_BODY} bytes"}))
            return None
        return self.rfile.read(int(length))

    def _send(self, reply: Reply) -> None:
        payload = json.dumps(reply.body, ensure_ascii=False).encode("utf-8")
        self.send_response(reply.status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def log_message(self, format, *args):
        """Quiet: the witness logs its own decisions, one line each."""


class WitnessServer(ThreadingHTTPServer):
    """An HTTP server for one witness that finishes the requests under way before it stops."""

    daemon_threads = False
    block_on_close = True

    def __init__(self, address: tuple[str, int], witness: Witness):
        self.witness = witness
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        super().__init__(address, _Handler)

    def server_bind(self):
        # HTTPServer.server_bind looks the host up in DNS, which can stall start-up.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    @property
    def url(self) -> str:
        host = f"[{self.server_name}]" if ":" in self.server_name else self.server_name
        return f"http://{host}:{self.server_port}"
