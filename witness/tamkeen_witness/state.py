"""The witness's memory: the size and root of the last tree it cosigned.

Losing or corrupting this file would let the witness cosign a rewritten history, so it
is written atomically and durably (temp file, fsync, rename, fsync of the directory) and
advanced only under an exclusive file lock, so two processes sharing it never both
advance it from the same starting point.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass

from tamkeen_witness.formats import canonical
from tamkeen_witness.merkle import EMPTY_ROOT

STATE_VERSION = 1
_HASH_HEX = re.compile(r"[0-9a-f]{64}")


class StateError(Exception):
    """The state file is missing, unreadable or not a witness state."""


@dataclass(frozen=True)
class WitnessState:
    """What the witness last cosigned; ``checkpoint`` and ``time`` are None before the first."""

    witness: str
    size: int
    root: str
    checkpoint: str | None = None
    time: str | None = None

    def as_json(self) -> dict:
        return {"v": STATE_VERSION, **asdict(self)}


def empty_state(witness_key_id: str) -> WitnessState:
    """The state of a new witness: it has seen only the empty tree."""
    return WitnessState(witness=witness_key_id, size=0, root=EMPTY_ROOT.hex())


def read_state(path: str) -> WitnessState:
    """Load the state, refusing anything that does not look exactly like one."""
    try:
        with open(path, encoding="utf-8") as handle:
            document = json.load(handle)
    except FileNotFoundError:
        raise StateError(f"no state file at {path} (create one with `init`)") from None
    except (OSError, ValueError) as error:
        raise StateError(f"cannot read the state file {path}: {error}") from None
    return _state_from_json(document, path)


def _state_from_json(document: object, path: str) -> WitnessState:
    if not isinstance(document, dict) or document.get("v") != STATE_VERSION:
        raise StateError(f"{path} is not a version {STATE_VERSION} witness state")
    size, root = document.get("size"), document.get("root")
    if type(size) is not int or size < 0 or not isinstance(root, str) or not _HASH_HEX.fullmatch(root):
        raise StateError(f"{path} has no valid size and root")
    if size == 0 and root != EMPTY_ROOT.hex():
        raise StateError(f"{path} claims an empty tree with a root that is not the empty root")
    try:
        return WitnessState(witness=str(document["witness"]), size=size, root=root,
                            checkpoint=document.get("checkpoint"), time=document.get("time"))
    except KeyError:
        raise StateError(f"{path} does not name its witness") from None


def write_state(path: str, state: WitnessState) -> None:
    """Replace the state file atomically: readers see the old state or the new one, never a mix."""
    temporary = _write_temporary(path, state)
    try:
        os.replace(temporary, path)
    except BaseException:
        _remove_quietly(temporary)
        raise
    _sync_directory(path)


def create_state(path: str, state: WitnessState) -> None:
    """Write a first state, refusing to replace an existing one (that would erase the witness's memory)."""
    temporary = _write_temporary(path, state)
    try:
        os.link(temporary, path)
    except FileExistsError:
        raise StateError(f"{path} already exists; refusing to overwrite a witness state") from None
    finally:
        _remove_quietly(temporary)
    _sync_directory(path)


@contextlib.contextmanager
def state_lock(path: str) -> Iterator[None]:
    """Hold an exclusive lock on the state while checking and advancing it.

    The lock is on a separate ``.lock`` file because the state file itself is replaced
    on every write, and a lock on a replaced file protects nothing.
    """
    descriptor = os.open(path + ".lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)  # closing releases the lock


def _write_temporary(path: str, state: WitnessState) -> str:
    """Write the state to a new file next to ``path`` and flush it to disk; return its name."""
    directory = os.path.dirname(os.path.abspath(path))
    descriptor, temporary = tempfile.mkstemp(prefix=os.path.basename(path) + ".", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(canonical(state.as_json()) + b"\n")
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        _remove_quietly(temporary)
        raise
    return temporary


def _sync_directory(path: str) -> None:
    """Make the rename itself durable: without this a crash can bring the old file back."""
    descriptor = os.open(os.path.dirname(os.path.abspath(path)), os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _remove_quietly(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.remove(path)
