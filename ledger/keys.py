"""Ed25519 signing keys for entries and checkpoints.

Private keys never enter the database. They are read from ``TAMKEEN_KEY_DIR``
(one ``<key id>.pem`` PKCS#8 file per key) or, for one key per purpose, from the
environment (``TAMKEEN_ENTRY_SIGNING_KEY`` / ``TAMKEEN_CHECKPOINT_SIGNING_KEY``: the
base64 of the 32-byte private key). The database keeps every public key with the moment
it became active; a key's window ends when the next key of its purpose starts.

The entry key signs every audit entry (web and worker processes hold it). The
checkpoint key signs checkpoints and should exist only where the integrator runs, so a
compromised web server cannot rewrite history a checkpoint covers.

Every entry and checkpoint key is certified by the ledger's **root key**, which no
server holds: ``manage.py audit init-root`` creates it on any machine, its public key is
pinned in ``TAMKEEN_LEDGER_ROOT_PUBLIC_KEY`` and in the auditors' trust files, and
``audit certify-key`` signs a new key's statement with it. The application refuses to
activate a key without a certificate from the pinned root, and refuses to activate it
sooner than every process can see it (``MIN_ACTIVATION_DELAY``).

Without any key and with ``TAMKEEN_DEV_KEYS`` on (the default when DEBUG), development
keys — a development root included — are generated on first use and a warning says so.
"""

import base64
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

from ledger.canonical import canonical_bytes, format_time
from ledger.models import KeyCertificate, SigningKey
from ledger.tamkeen_verify import (
    certificate_problem,
    key_id_for,
    key_statement,
    parse_time,
    parse_time_or_none,
)

logger = logging.getLogger("tamkeen.audit.keys")
CACHE_SECONDS = 30
# A new key takes over no sooner than twice the cache period: every process has re-read
# the key list (and learnt when its current key's window closes) before that moment.
MIN_ACTIVATION_DELAY = timedelta(seconds=2 * CACHE_SECONDS)
DEV_ROOT_FILE = "root.pem"
ENV_VARS = {"entry": "TAMKEEN_ENTRY_SIGNING_KEY", "checkpoint": "TAMKEEN_CHECKPOINT_SIGNING_KEY"}


def key_dir() -> Path:
    return Path(getattr(settings, "TAMKEEN_KEY_DIR", settings.VAR_DIR / "keys"))


def public_hex(private_key: Ed25519PrivateKey) -> str:
    return private_key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    ).hex()


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
    return write_private_key_file(private_key, directory / f"{key_id}.pem", overwrite=True)


def write_private_key_file(private_key: Ed25519PrivateKey, path: Path, *, overwrite=False) -> Path:
    """PKCS#8 PEM, readable by its owner only."""
    pem = private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if overwrite else os.O_EXCL)
    fd = os.open(path, flags, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    return path


# --- The root of trust ------------------------------------------------------------------


def _dev_root_path() -> Path:
    return key_dir() / DEV_ROOT_FILE


def root_public_key() -> str | None:
    """The pinned root public key (hex): ``TAMKEEN_LEDGER_ROOT_PUBLIC_KEY``, else — for
    development only — the development root's."""
    pinned = getattr(settings, "TAMKEEN_LEDGER_ROOT_PUBLIC_KEY", "")
    if pinned:
        return pinned.strip().lower()
    root = development_root()
    return public_hex(root) if root is not None else None


def development_root(*, create: bool = False) -> Ed25519PrivateKey | None:
    """The development root key (``root.pem`` in the key directory), created when
    allowed. Never used once a root is pinned."""
    if getattr(settings, "TAMKEEN_LEDGER_ROOT_PUBLIC_KEY", ""):
        return None
    path = _dev_root_path()
    if path.exists():
        return private_key_from_text(path.read_bytes())
    if not (create and dev_keys_allowed()):
        return None
    root = Ed25519PrivateKey.generate()
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        write_private_key_file(root, path)
    except FileExistsError:  # another process made it first
        return private_key_from_text(path.read_bytes())
    logger.warning(
        "Generated a DEVELOPMENT ledger root key %s in %s. Production pins its own offline root "
        "(manage.py audit init-root; TAMKEEN_LEDGER_ROOT_PUBLIC_KEY).", key_id_for(public_hex(root)), path,
    )
    return root


def statement_for(public_key_hex: str, purpose: str, valid_from: datetime) -> dict:
    return key_statement(public_key_hex=public_key_hex, purpose=purpose, valid_from=format_time(valid_from))


def certify(statement: dict, root_private_key: Ed25519PrivateKey) -> dict:
    """The root's certificate of a key statement."""
    return {
        "statement": statement,
        "root_key_id": key_id_for(public_hex(root_private_key)),
        "signature": base64.b64encode(root_private_key.sign(canonical_bytes(statement))).decode(),
    }


class UncertifiedKey(ImproperlyConfigured):
    """A key without a valid certificate from the pinned root: never activated."""


@dataclass(frozen=True)
class Window:
    key_id: str
    purpose: str
    public_key: str
    valid_from: datetime
    valid_until: datetime | None
    certificate: dict | None = None

    def covers(self, moment: datetime) -> bool:
        return self.valid_from <= moment and (self.valid_until is None or moment < self.valid_until)

    def as_json(self) -> dict:
        return {
            "id": self.key_id, "purpose": self.purpose, "public_key": self.public_key,
            "valid_from": format_time(self.valid_from),
            "valid_until": format_time(self.valid_until) if self.valid_until else None,
            "certificate": self.certificate,
        }


def key_windows(purpose: str | None = None, *, trusted_only=False) -> list[Window]:
    """Every key with its validity window, oldest first. ``trusted_only``: only the keys
    the pinned root certified (what this server signs with: a key row inserted without
    the root's certificate neither signs nor closes a certified key's window)."""
    return _windows(_key_rows(purpose), trusted_only=trusted_only)


def key_windows_and_trusted() -> tuple[list[Window], list[Window]]:
    """``key_windows()`` and ``key_windows(trusted_only=True)`` from one read of the keys."""
    rows = _key_rows(None)
    return _windows(rows, trusted_only=False), _windows(rows, trusted_only=True)


def _key_rows(purpose):
    rows = SigningKey.objects.order_by("purpose", "valid_from", "id")
    if purpose:
        rows = rows.filter(purpose=purpose)
    rows = list(rows)
    certificates = dict(KeyCertificate.objects.values_list("key_id", "certificate"))
    for row in rows:
        row.certificate = certificates.get(row.key_id)
    return rows


def _windows(rows, *, trusted_only) -> list[Window]:
    windows = rows
    if trusted_only:
        root = root_public_key()
        windows = [row for row in rows if root is not None and _row_is_certified(row, root)]
    result = []
    for index, row in enumerate(windows):
        successor = next((w for w in windows[index + 1:] if w.purpose == row.purpose), None)
        ends = [t for t in (row.valid_until, successor.valid_from if successor else None) if t]
        result.append(Window(row.key_id, row.purpose, row.public_key, row.valid_from, min(ends) if ends else None,
                             row.certificate))
    return result


def _row_is_certified(row, root: str) -> bool:
    from ledger.tamkeen_verify import PublicKey

    key = PublicKey(row.key_id, row.purpose, row.public_key, row.valid_from, None, row.certificate)
    why = key.trust_problem(root)
    if why:
        logger.error("signing key %s (%s) is not trusted and is ignored: %s", row.key_id, row.purpose, why)
    return why is None


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
        self._windows = key_windows(trusted_only=True)
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


def register_key(private_key: Ed25519PrivateKey | None, purpose: str, *, valid_from=None, store=True,
                 certificate: dict | None = None) -> SigningKey:
    """Record a new key's public half, active from ``valid_from`` (default: now), with
    its certificate. Without one, only a development root may certify it (and does);
    a certificate that the pinned root did not sign, or for another key, is refused."""
    if certificate is None:
        if private_key is None:
            raise ValueError("a key is registered from its private key or its certificate")
        root = development_root(create=True)
        if root is None:
            raise UncertifiedKey(
                f"The new {purpose} key is not certified: run 'manage.py audit certify-key' with the ledger's root key "
                "on the machine that keeps it, then 'manage.py audit activate-key CERTIFICATE'."
            )
        certificate = certify(statement_for(public_hex(private_key), purpose, valid_from or timezone.now()), root)
    root_public = root_public_key()
    if root_public is None:
        raise UncertifiedKey("No ledger root is pinned: set TAMKEEN_LEDGER_ROOT_PUBLIC_KEY "
                             "(the public key 'manage.py audit init-root' printed).")
    why = certificate_problem(certificate, root_public)
    statement = certificate.get("statement", {}) if isinstance(certificate, dict) else {}
    if why is None and statement.get("purpose") != purpose:
        why = f"it certifies a {statement.get('purpose')} key, not a {purpose} key"
    if why is None and private_key is not None and statement.get("public_key") != public_hex(private_key):
        why = "it certifies another public key"
    if why:
        raise UncertifiedKey(f"Refused: the certificate is not valid ({why}).")
    public = statement["public_key"]
    if store and private_key is not None:
        write_private_key(private_key, statement["key_id"])
    with transaction.atomic():
        row = SigningKey(key_id=statement["key_id"], purpose=purpose, public_key=public,
                         valid_from=parse_time(statement["valid_from"]))
        row.save()
        KeyCertificate(key_id=row.key_id, certificate=certificate).save()
    KEYRING.clear()
    return row


def _certify_development_keys():
    """A development database whose keys predate certificates: the development root
    certifies them (never once a root is pinned)."""
    from django.db import connection

    if KeyCertificate._meta.db_table not in connection.introspection.table_names():
        return  # a schema before certificates (migrating)
    if not SigningKey.objects.exclude(key_id__in=KeyCertificate.objects.values("key_id")).exists():
        return
    root = development_root(create=True)
    done = certify_existing(root)
    if done:
        logger.warning("The DEVELOPMENT root certified the keys %s, registered before certificates.", ", ".join(done))


def certify_existing(root_private_key: Ed25519PrivateKey) -> list[str]:
    """Certify every key registered before certificates existed (a ledger upgraded to
    them): the statement says what the key row says. Run once, where the root is kept."""
    certified = set(KeyCertificate.objects.values_list("key_id", flat=True))
    done = []
    for row in SigningKey.objects.exclude(key_id__in=certified).order_by("purpose", "valid_from"):
        statement = statement_for(row.public_key, row.purpose, row.valid_from)
        if statement["key_id"] != row.key_id:
            logger.error("key %s: its id is not derived from its public key; not certified", row.key_id)
            continue
        KeyCertificate(key_id=row.key_id, certificate=certify(statement, root_private_key)).save()
        done.append(row.key_id)
    KEYRING.clear()
    return done


def dev_keys_allowed() -> bool:
    return getattr(settings, "TAMKEEN_DEV_KEYS", settings.DEBUG)


CERTIFICATE_ENV_VARS = {"entry": "TAMKEEN_ENTRY_KEY_CERTIFICATE", "checkpoint": "TAMKEEN_CHECKPOINT_KEY_CERTIFICATE"}


def ensure_keys(purposes=("entry", "checkpoint")) -> list[SigningKey]:
    """Make sure a key of each purpose exists: the environment's (with its certificate,
    ``TAMKEEN_<PURPOSE>_KEY_CERTIFICATE``: a file written by ``audit certify-key``), or a
    development key certified by the development root."""
    created = []
    if dev_keys_allowed() and not getattr(settings, "TAMKEEN_LEDGER_ROOT_PUBLIC_KEY", ""):
        _certify_development_keys()
    for purpose in purposes:
        if SigningKey.objects.filter(purpose=purpose).exists():
            continue
        env_value = os.environ.get(ENV_VARS[purpose], "")
        if env_value:
            certificate = None
            certificate_file = os.environ.get(CERTIFICATE_ENV_VARS[purpose], "")
            if certificate_file:
                import json

                certificate = json.loads(Path(certificate_file).read_text())
            created.append(register_key(private_key_from_text(env_value), purpose, store=False,
                                        valid_from=timezone.now() - timedelta(seconds=1), certificate=certificate))
            continue
        if not dev_keys_allowed():
            raise ImproperlyConfigured(
                f"No {purpose} signing key: run 'manage.py audit rotate-key --purpose {purpose} --root-key ROOT.pem' "
                f"(or prepare, certify and activate it: docs/ledger.md), or set {ENV_VARS[purpose]} and "
                f"{CERTIFICATE_ENV_VARS[purpose]}."
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


class ActivationTooSoon(ValueError):
    pass


def rotate_key(purpose: str, *, private_key: Ed25519PrivateKey | None = None, effective_in=MIN_ACTIVATION_DELAY,
               store=True, certificate: dict | None = None) -> SigningKey:
    """Activate a new key (generated unless given) ``effective_in`` from now — or at its
    certificate's start; the previous key's window closes at that moment. Refused sooner
    than ``MIN_ACTIVATION_DELAY``: a process still signing with the old key after its
    window closed would leave entries no verifier accepts. Public keys are kept forever."""
    if certificate is not None:
        starts = parse_time_of(certificate)
        if starts is None:
            raise UncertifiedKey("Refused: the certificate is not valid (it has no start).")
        effective_in = starts - timezone.now()
    first = not SigningKey.objects.filter(purpose=purpose).exists()  # no process signs with a predecessor
    if effective_in < MIN_ACTIVATION_DELAY and not first:
        raise ActivationTooSoon(
            f"A new key takes over at least {int(MIN_ACTIVATION_DELAY.total_seconds())} s from now "
            f"(every process re-reads the keys every {CACHE_SECONDS} s); this one would in "
            f"{int(effective_in.total_seconds())} s."
        )
    if certificate is None:
        private_key = private_key or Ed25519PrivateKey.generate()
    return register_key(private_key, purpose, valid_from=None if certificate else timezone.now() + effective_in,
                        store=store, certificate=certificate)


def parse_time_of(certificate) -> datetime | None:
    statement = certificate.get("statement") if isinstance(certificate, dict) else None
    return parse_time_or_none(statement.get("valid_from")) if isinstance(statement, dict) else None
