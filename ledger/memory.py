"""What the integrator remembers outside the database: the last checkpoint it signed.

The file sits beside the checkpoint key, on the integrator's machine
(``TAMKEEN_INTEGRATOR_STATE_FILE``). Before signing, the integrator compares the
database's newest checkpoint with it: a checkpoint deleted, rebuilt or rolled back in
the database no longer matches, and the integrator refuses to sign on top of it (it
alerts the auditors instead). The file holds the tree's frontier at that checkpoint, so
the next checkpoint and its consistency proof never depend on the database's copy.

Written atomically (a temporary file, fsync, rename) after the checkpoint commits. If
the process stops between the commit and the write, the database is one checkpoint
ahead; the next run accepts it only if it is signed by a trusted checkpoint key, names
the remembered checkpoint as its predecessor and carries a consistency proof from it.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from ledger.tamkeen_verify import frontier_from_json, frontier_to_json


def memory_path() -> Path:
    configured = getattr(settings, "TAMKEEN_INTEGRATOR_STATE_FILE", "")
    if configured:
        return Path(configured)
    from ledger.keys import key_dir

    return key_dir() / "integrator-state.json"


@dataclass
class Remembered:
    size: int
    root: str
    checkpoint_sha256: str  # of the checkpoint's signed bytes
    frontier: list  # [(size, digest bytes)]

    @classmethod
    def of(cls, checkpoint, frontier) -> Remembered:
        return cls(checkpoint.size, checkpoint.root_hash, hashlib.sha256(bytes(checkpoint.canonical)).hexdigest(),
                   list(frontier))

    def is_checkpoint(self, checkpoint) -> bool:
        return hashlib.sha256(bytes(checkpoint.canonical)).hexdigest() == self.checkpoint_sha256


def load() -> Remembered | None:
    path = memory_path()
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    return Remembered(int(data["size"]), data["root"], data["checkpoint_sha256"], frontier_from_json(data["frontier"]))


def save(remembered: Remembered) -> None:
    path = memory_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    data = json.dumps({"size": remembered.size, "root": remembered.root,
                       "checkpoint_sha256": remembered.checkpoint_sha256,
                       "frontier": frontier_to_json(remembered.frontier)})
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".integrator-state-")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def forget() -> None:
    """For a new ledger (tests, a fresh demo): nothing remembered."""
    memory_path().unlink(missing_ok=True)
