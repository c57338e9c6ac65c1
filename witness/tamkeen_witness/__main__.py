"""Command line: ``init`` a witness, ``serve`` it over HTTP, ``show`` what it has cosigned.

Usage errors exit with 2 (as argparse does); operational errors (a file that exists or
cannot be read) exit with 1 and one line on stderr.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import sys
import threading

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    load_pem_private_key,
)

from tamkeen_witness.formats import key_id, raw_public_key
from tamkeen_witness.state import StateError, create_state, empty_state, read_state

_PUBLIC_KEY_HEX = re.compile(r"[0-9a-f]{64}")


class CommandError(Exception):
    """An operational failure worth one clear line to the operator."""


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    arguments = parser.parse_args(argv)
    try:
        return arguments.run(arguments, parser)
    except (CommandError, StateError) as error:
        print(f"tamkeen-witness: {error}", file=sys.stderr)
        return 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tamkeen-witness",
        description="Cosign Tamkeen ledger checkpoints only when they extend the last one cosigned.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    init = commands.add_parser("init", help="create the witness key and an empty state",
                               description="Create a new Ed25519 key and an empty state; print the witness "
                                           "key id and public key for the ledger's administrator.")
    init.add_argument("--key", required=True, metavar="KEY.pem", help="private key to create (PKCS#8 PEM, 0600)")
    init.add_argument("--state", required=True, metavar="STATE.json", help="state file to create")
    init.set_defaults(run=_init)

    serve = commands.add_parser("serve", help="answer add-checkpoint and latest over HTTP",
                                description="Serve POST /add-checkpoint and GET /latest until SIGTERM or SIGINT.")
    serve.add_argument("--key", required=True, metavar="KEY.pem", help="the witness's private key")
    serve.add_argument("--state", required=True, metavar="STATE.json", help="the witness's state file")
    serve.add_argument("--root-public-key", required=True, metavar="HEX",
                       help="the ledger's root public key (64 hex), which certifies checkpoint keys")
    serve.add_argument("--listen", default="127.0.0.1:8765", metavar="HOST:PORT",
                       help="address to listen on (default 127.0.0.1:8765; port 0 picks a free one)")
    serve.set_defaults(run=_serve)

    show = commands.add_parser("show", help="print the size and root last cosigned",
                               description="Print the witness, size, root and time of the last cosignature.")
    show.add_argument("--state", required=True, metavar="STATE.json", help="the witness's state file")
    show.set_defaults(run=_show)
    return parser


def _init(arguments, parser) -> int:
    """Create key and state; the key is written first and only if neither file exists yet."""
    for path in (arguments.key, arguments.state):
        if os.path.exists(path):
            raise CommandError(f"{path} already exists; refusing to overwrite it")
    private_key = Ed25519PrivateKey.generate()
    _write_new_key(arguments.key, private_key)
    witness = key_id(raw_public_key(private_key))
    create_state(arguments.state, empty_state(witness))
    print(f"witness key id: {witness}")
    print(f"public key:     {raw_public_key(private_key).hex()}")
    return 0


def _write_new_key(path: str, private_key: Ed25519PrivateKey) -> None:
    """Write the private key readable by its owner only, never replacing an existing file."""
    pem = private_key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise CommandError(f"{path} already exists; refusing to overwrite it") from None
    except OSError as error:
        raise CommandError(f"cannot create {path}: {error.strerror}") from None
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(pem)
        handle.flush()
        os.fsync(handle.fileno())


def _serve(arguments, parser) -> int:
    from tamkeen_witness.server import Witness, WitnessServer

    if not _PUBLIC_KEY_HEX.fullmatch(arguments.root_public_key):
        parser.error("--root-public-key must be 64 lowercase hex characters")
    address = _listen_address(arguments.listen, parser)
    private_key = _load_key(arguments.key)
    state = read_state(arguments.state)
    witness = Witness(private_key, arguments.state, arguments.root_public_key)
    if state.witness != witness.key_id:
        raise CommandError(f"{arguments.state} belongs to witness {state.witness}, not to this key "
                           f"({witness.key_id})")
    try:
        server = WitnessServer(address, witness)
    except OSError as error:
        raise CommandError(f"cannot listen on {arguments.listen}: {error.strerror}") from None
    _stop_on_signals(server)
    print(f"listening on {server.url}", flush=True)
    print(f"tamkeen-witness: witness {witness.key_id} at size {state.size}", file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()
    print("tamkeen-witness: stopped", file=sys.stderr, flush=True)
    return 0


def _listen_address(text: str, parser) -> tuple[str, int]:
    """HOST:PORT, with an IPv6 host in brackets ([::1]:8765)."""
    host, colon, port = text.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not colon or not host or not port.isdigit() or int(port) > 65535:
        parser.error(f"--listen wants HOST:PORT, not {text!r}")
    return host, int(port)


def _load_key(path: str) -> Ed25519PrivateKey:
    try:
        with open(path, "rb") as handle:
            key = load_pem_private_key(handle.read(), password=None)
    except OSError as error:
        raise CommandError(f"cannot read the key {path}: {error.strerror}") from None
    except (ValueError, TypeError) as error:
        raise CommandError(f"{path} is not an unencrypted PEM private key: {error}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise CommandError(f"{path} is not an Ed25519 key")
    return key


def _stop_on_signals(server) -> None:
    """Stop serving on SIGTERM or SIGINT, letting the requests under way finish first.

    shutdown() waits for the serving loop, so it must run outside the handler's thread.
    """
    def stop(signum, frame):
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)


def _show(arguments, parser) -> int:
    state = read_state(arguments.state)
    print(f"witness {state.witness}")
    print(f"size    {state.size}")
    print(f"root    {state.root}")
    print(f"time    {state.time or '-'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
