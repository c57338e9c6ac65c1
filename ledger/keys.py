"""Ed25519 signing keys for entries and checkpoints.

Private keys never enter the database. They are read from ``TAMKEEN_KEY_DIR``
(one ``<key id>.pem`` PKCS#8 file per key) or, for one key per purpose, from the
environment (``TAMKEEN_ENTRY_SIGNING_KEY`` / ``TAMKEEN_CHECKPOINT_SIGNING_KEY``: the
base64 of the 32-byte private key). The database keeps every public key with the moment
it became active; a key's window ends when the next key of its purpose starts.

The entry key signs every audit entry (web and worker processes hold it). The
checkpoint key signs checkpoints and should exist only where the integrator runs, so a
compromised web server cannot rewrite history a checkpoint covers.

Without any key and with ``TAMKEEN_DEV_KEYS`` on (the default when DEBUG), a
development key is generated on first use and a warning says so.
"""

import base64
import hashlib
import logging
import os
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.utils import timezone

from ledger.models import SigningKey

logger = logging.getLogger("tamkeen.audit.keys")
CACHE_SECONDS = 30
ENV_VARS = {"entry": "TAMKEEN_ENTRY_SIGNING_KEY", "checkpoint": "TAMKEEN_CHECKPOINT_SIGNING_KEY"}


def key_dir() -> Path:
    return Path(getattr(settings, "TAMKEEN_KEY_DIR", settings.VAR_DIR / "keys"))


def public_hex(private_key: Ed25519PrivateKey) -> str:
    return private_key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    ).hex()


def key_id_for(public_key_hex: str) -> str:
    return hashlib.sha256(bytes.fromhex(public_key_hex)).hexdigest()[:16]


def private_key_from_text(text: str | bytes) -> Ed25519PrivateKey:
    """Read a private key given as PKCS#8 PEM or as base64 of the 32 raw bytes."""
    data = text.encode() if isinstance(text, str) else text
    if b"BEGIN" in data:
        key = serialization.load_pem_private_key(data, password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError("not an Ed25519 private key")
        return key
    raw = base64.b64decode(data.strip(), validate=True)
    if len(raw) != 32:
        raise ValueError("an Ed25519 private key has 32 bytes")
    return Ed25519PrivateKey.from_private_bytes(raw)


def write_private_key(private_key: Ed25519PrivateKey, key_id: str) -> Path:
    directory = key_dir()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{key_id}.pem"
    pem = private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    return path


@dataclass(frozen=True)
class Window:
    key_id: str
    purpose: str
    public_key: str
    valid_from: datetime
    valid_until: datetime | None

    def covers(self, moment: datetime) -> bool:
        return self.valid_from <= moment and (self.valid_until is None or moment < self.valid_until)

    def as_json(self) -> dict:
        from ledger.canonical import format_time

        return {
            "id": self.key_id, "purpose": self.purpose, "public_key": self.public_key,
            "valid_from": format_time(self.valid_from),
            "valid_until": format_time(self.valid_until) if self.valid_until else None,
        }


def key_windows(purpose: str | None = None) -> list[Window]:
    """Every key with its validity window, oldest first."""
    rows = SigningKey.objects.order_by("purpose", "valid_from", "id")
    if purpose:
        rows = rows.filter(purpose=purpose)
    windows = list(rows)
    result = []
    for index, row in enumerate(windows):
        successor = next((w for w in windows[index + 1:] if w.purpose == row.purpose), None)
        ends = [t for t in (row.valid_until, successor.valid_from if successor else None) if t]
        result.append(Window(row.key_id, row.purpose, row.public_key, row.valid_from, min(ends) if ends else None))
    return result


class _KeyRing:
    """Per-process cache of the key windows and of the private keys this process holds."""

    def __init__(self):
        self._lock = threading.Lock()
        self._windows: list[Window] = []
        self._loaded_at = 0.0
        self._private: dict[str, Ed25519PrivateKey] = {}

    def clear(self):
        with self._lock:
            self._windows, self._loaded_at, self._private = [], 0.0, {}

    def _refresh(self):
        self._windows = key_windows()
        self._loaded_at = time.monotonic()

    def active(self, purpose: str, moment: datetime) -> Window | None:
        with self._lock:
            if time.monotonic() - self._loaded_at > CACHE_SECONDS:
                self._refresh()
            found = self._pick(purpose, moment)
            if found is None:
                self._refresh()
                found = self._pick(purpose, moment)
            return found

    def _pick(self, purpose, moment):
        matches = [w for w in self._windows if w.purpose == purpose and w.covers(moment)]
        return matches[-1] if matches else None

    def private_key(self, window: Window) -> Ed25519PrivateKey:
        with self._lock:
            key = self._private.get(window.key_id)
            if key is None:
                key = _load_private_key(window)
                self._private[window.key_id] = key
            return key


KEYRING = _KeyRing()


def _load_private_key(window: Window) -> Ed25519PrivateKey:
    env_value = os.environ.get(ENV_VARS[window.purpose], "")
    candidates = []
    if env_value:
        candidates.append(("environment", env_value))
    path = key_dir() / f"{window.key_id}.pem"
    if path.exists():
        candidates.append((str(path), path.read_bytes()))
    for _source, text in candidates:
        try:
            key = private_key_from_text(text)
        except ValueError:
            continue
        if public_hex(key) == window.public_key:
            return key
    raise ImproperlyConfigured(
        f"This server holds no private key for the active {window.purpose} key {window.key_id}: "
        f"put {window.key_id}.pem in {key_dir()} or set {ENV_VARS[window.purpose]}."
    )


def register_key(private_key: Ed25519PrivateKey, purpose: str, *, valid_from=None, store=True) -> SigningKey:
    """Record a new key's public half, active from ``valid_from`` (default: now)."""
    public = public_hex(private_key)
    key_id = key_id_for(public)
    if store:
        write_private_key(private_key, key_id)
    row = SigningKey(key_id=key_id, purpose=purpose, public_key=public,
                     valid_from=valid_from or timezone.now())
    row.save()
    KEYRING.clear()
    return row


def dev_keys_allowed() -> bool:
    return getattr(settings, "TAMKEEN_DEV_KEYS", settings.DEBUG)


def ensure_keys(purposes=("entry", "checkpoint")) -> list[SigningKey]:
    """Make sure a key of each purpose exists: the environment's, or a development key."""
    created = []
    for purpose in purposes:
        if SigningKey.objects.filter(purpose=purpose).exists():
            continue
        env_value = os.environ.get(ENV_VARS[purpose], "")
        if env_value:
            created.append(register_key(private_key_from_text(env_value), purpose, store=False,
                                        valid_from=timezone.now() - timedelta(seconds=1)))
            continue
        if not dev_keys_allowed():
            raise ImproperlyConfigured(
                f"No {purpose} signing key: set {ENV_VARS[purpose]} or run 'manage.py audit rotate-key "
                f"--purpose {purpose} --private-key-file FILE'."
            )
        with transaction.atomic():
            row = register_key(Ed25519PrivateKey.generate(), purpose,
                               valid_from=timezone.now() - timedelta(seconds=1))
        logger.warning(
            "Generated a DEVELOPMENT %s signing key %s in %s. Production must provide its own keys "
            "(TAMKEEN_KEY_DIR or %s).", purpose, row.key_id, key_dir(), ENV_VARS[purpose],
        )
        created.append(row)
    return created


def signer_for(purpose: str, moment: datetime) -> tuple[Window, Ed25519PrivateKey]:
    window = KEYRING.active(purpose, moment)
    if window is None:
        ensure_keys([purpose])
        window = KEYRING.active(purpose, moment)
    if window is None:
        raise ImproperlyConfigured(f"No {purpose} signing key is valid at {moment.isoformat()}.")
    return window, KEYRING.private_key(window)


def rotate_key(purpose: str, *, private_key: Ed25519PrivateKey | None = None, effective_in=timedelta(0),
               store=True) -> SigningKey:
    """Activate a new key (generated unless given) ``effective_in`` from now; the previous
    key's window closes at that moment. Public keys are kept forever."""
    private_key = private_key or Ed25519PrivateKey.generate()
    return register_key(private_key, purpose, valid_from=timezone.now() + effective_in, store=store)
