"""The byte formats the witness shares with the ledger: canonical JSON, times, key ids,
key certificates, signed checkpoints and cosignatures.

Everything here is checked strictly, because a lenient parser would let two different
byte strings mean the same checkpoint, and a cosignature is only worth something if
everyone agrees on exactly which bytes it covers.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

COSIGNATURE_TYPE = "tamkeen-cosignature/v1"
CERTIFICATE_TYPE = "tamkeen-key-certificate"
CERTIFICATE_VERSION = 1
CHECKPOINT_VERSION = 2

_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z")
_KEY_ID = re.compile(r"[0-9a-f]{32}")
_HASH_HEX = re.compile(r"[0-9a-f]{64}")


class Malformed(ValueError):
    """The input does not have the shape the format requires (HTTP 400)."""


class Untrusted(ValueError):
    """The input is well formed but its signatures do not lead back to the root key (HTTP 403)."""


# --- Canonical bytes, times, keys ------------------------------------------------------


def canonical(document: dict) -> bytes:
    """The one byte string a document is signed and hashed as: sorted keys, compact, UTF-8."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def format_time(moment: datetime) -> str:
    """A UTC time in the fixed form the ledger writes, so times compare as text too."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def now() -> str:
    """The current time in the ledger's fixed form."""
    return format_time(datetime.now(UTC))


def parse_time(text: object) -> datetime:
    """Read a time in the fixed form only; any other spelling is refused as malformed."""
    if not isinstance(text, str) or not _TIME.fullmatch(text):
        raise Malformed(f"time {text!r} is not of the form 2026-12-04T20:41:45.123456Z")
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    except ValueError as error:
        raise Malformed(f"time {text!r} is not a real date: {error}") from None


def key_id(public_key: bytes) -> str:
    """The short name of a key: the first 16 bytes of SHA-256 of its raw 32 bytes, in hex."""
    return hashlib.sha256(public_key).digest()[:16].hex()


def raw_public_key(key: Ed25519PrivateKey | Ed25519PublicKey) -> bytes:
    """The raw 32 bytes of an Ed25519 public key, which key ids and certificates are made of."""
    if isinstance(key, Ed25519PrivateKey):
        key = key.public_key()
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def load_public_key(public_key_hex: object) -> Ed25519PublicKey:
    """An Ed25519 public key from its 64 hex characters."""
    if not isinstance(public_key_hex, str) or not _HASH_HEX.fullmatch(public_key_hex):
        raise Malformed("a public key is 64 lowercase hex characters")
    return Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_key_hex))


def decode_base64(text: object, what: str) -> bytes:
    """Strict base64: refuses stray characters instead of silently skipping them."""
    if not isinstance(text, str):
        raise Malformed(f"{what} must be a base64 string")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise Malformed(f"{what} is not valid base64") from None


def verify_signature(public_key_hex: str, signature_b64: object, message: bytes) -> bool:
    """Whether an Ed25519 signature over ``message`` verifies; never raises for bad input."""
    try:
        key = load_public_key(public_key_hex)
        key.verify(decode_base64(signature_b64, "signature"), message)
    except (Malformed, InvalidSignature, ValueError):
        return False
    return True


# --- Key certificates ------------------------------------------------------------------


@dataclass(frozen=True)
class CertifiedKey:
    """A checkpoint or entry key that the ledger's root key vouches for."""

    key_id: str
    purpose: str
    public_key: str
    valid_from: datetime


def verify_certificate(certificate: object, root_public_key_hex: str) -> CertifiedKey:
    """The key a certificate vouches for, if the configured root key really issued it.

    Any defect is reported as Untrusted: a certificate that does not verify gives no
    reason to believe anything else in the request.
    """
    if not isinstance(certificate, dict):
        raise Untrusted("the key certificate is not a JSON object")
    root_id = key_id(bytes.fromhex(root_public_key_hex))
    if certificate.get("root_key_id") != root_id:
        raise Untrusted(f"the key certificate was not issued by root key {root_id}")
    statement = certificate.get("statement")
    if not isinstance(statement, dict):
        raise Untrusted("the key certificate has no statement")
    if not verify_signature(root_public_key_hex, certificate.get("signature"), canonical(statement)):
        raise Untrusted("the key certificate's signature does not verify with the root key")
    return _certified_key(statement)


def _certified_key(statement: dict) -> CertifiedKey:
    """Read a statement whose signature already verified, checking it says what it claims."""
    if statement.get("type") != CERTIFICATE_TYPE or type(statement.get("v")) is not int \
            or statement["v"] != CERTIFICATE_VERSION:
        raise Untrusted("the key certificate is not a version 1 tamkeen-key-certificate")
    if statement.get("purpose") not in ("checkpoint", "entry"):
        raise Untrusted(f"the key certificate names an unknown purpose {statement.get('purpose')!r}")
    public_key = statement.get("public_key")
    try:
        load_public_key(public_key)
        valid_from = parse_time(statement.get("valid_from"))
    except (Malformed, ValueError) as error:
        raise Untrusted(f"the key certificate is unreadable: {error}") from None
    if statement.get("key_id") != key_id(bytes.fromhex(public_key)):
        raise Untrusted("the key certificate's key_id is not the id of its public key")
    return CertifiedKey(statement["key_id"], statement["purpose"], public_key, valid_from)


# --- Checkpoints -----------------------------------------------------------------------


@dataclass(frozen=True)
class Checkpoint:
    """The fields of a signed checkpoint the witness relies on, with its exact bytes."""

    size: int
    root: str
    at: str
    key: str
    prev_size: int
    prev_root: str
    canonical: bytes

    @property
    def digest(self) -> str:
        """The SHA-256 of the checkpoint's bytes, which a cosignature names."""
        return hashlib.sha256(self.canonical).hexdigest()


def parse_checkpoint(checkpoint_canonical: bytes) -> Checkpoint:
    """Read checkpoint bytes, insisting they are canonical so they have one meaning only.

    Unknown keys (such as "definitions") are allowed and ignored.
    """
    try:
        document = json.loads(checkpoint_canonical.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise Malformed("the checkpoint is not UTF-8 JSON") from None
    if not isinstance(document, dict):
        raise Malformed("the checkpoint is not a JSON object")
    if canonical(document) != checkpoint_canonical:
        raise Malformed("the checkpoint bytes are not in canonical form")
    if document.get("v") != CHECKPOINT_VERSION or type(document.get("v")) is not int:
        raise Malformed(f"the checkpoint is not of version {CHECKPOINT_VERSION}")
    size, prev_size = _tree_size(document, "size"), _tree_size(document, "prev_size")
    if prev_size > size:
        raise Malformed("the checkpoint's prev_size is larger than its size")
    parse_time(document.get("at"))
    if not isinstance(document.get("key"), str) or not _KEY_ID.fullmatch(document["key"]):
        raise Malformed("the checkpoint's key is not a 32 hex character key id")
    return Checkpoint(size=size, root=_root_hex(document, "root"), at=document["at"], key=document["key"],
                      prev_size=prev_size, prev_root=_root_hex(document, "prev_root"),
                      canonical=checkpoint_canonical)


def _tree_size(document: dict, name: str) -> int:
    """A tree size: a non-negative JSON integer (true and false are not sizes)."""
    value = document.get(name)
    if type(value) is not int or value < 0:
        raise Malformed(f"the checkpoint's {name} is not a non-negative integer")
    return value


def _root_hex(document: dict, name: str) -> str:
    """A tree hash: 64 lowercase hex characters."""
    value = document.get(name)
    if not isinstance(value, str) or not _HASH_HEX.fullmatch(value):
        raise Malformed(f"the checkpoint's {name} is not 64 lowercase hex characters")
    return value


def verify_signed_checkpoint(checkpoint_canonical: bytes, signer_key_id: str, signature_b64: object,
                             certificate: object, root_public_key_hex: str) -> Checkpoint:
    """The checkpoint, once its signature is traced back to the root key through the certificate.

    Raises Malformed when the checkpoint cannot be read and Untrusted when the chain of
    signatures does not hold or the key signed before it was certified.
    """
    checkpoint = parse_checkpoint(checkpoint_canonical)
    check_checkpoint_signer(checkpoint, signer_key_id, signature_b64, certificate, root_public_key_hex)
    return checkpoint


def check_checkpoint_signer(checkpoint: Checkpoint, signer_key_id: str, signature_b64: object,
                            certificate: object, root_public_key_hex: str) -> None:
    """Raise Untrusted unless a checkpoint key certified by the root signed this checkpoint.

    The key must be certified for checkpoints (an entry key may not vouch for a tree), be
    the key the checkpoint names, and have been valid when the checkpoint was dated.
    """
    certified = verify_certificate(certificate, root_public_key_hex)
    if certified.purpose != "checkpoint":
        raise Untrusted(f"key {certified.key_id} is certified for {certified.purpose!r}, not for checkpoints")
    if not (certified.key_id == signer_key_id == checkpoint.key):
        raise Untrusted(f"the checkpoint names key {checkpoint.key!r} and is signed by {signer_key_id!r}, "
                        f"but the certificate is for {certified.key_id}")
    if not verify_signature(certified.public_key, signature_b64, checkpoint.canonical):
        raise Untrusted("the checkpoint's signature does not verify with the certified key")
    if parse_time(checkpoint.at) < certified.valid_from:
        raise Untrusted(f"the checkpoint is dated {checkpoint.at}, before its key became valid "
                        f"({format_time(certified.valid_from)})")


# --- Cosignatures ----------------------------------------------------------------------


def cosignature_message(witness_key_id: str, time: str, checkpoint_canonical: bytes) -> bytes:
    """The bytes a witness signs: which witness, when, and the hash of the exact checkpoint."""
    return canonical({
        "type": COSIGNATURE_TYPE,
        "witness": witness_key_id,
        "time": time,
        "checkpoint": hashlib.sha256(checkpoint_canonical).hexdigest(),
    })


def cosign(private_key: Ed25519PrivateKey, time: str, checkpoint_canonical: bytes) -> dict:
    """A cosignature of the checkpoint, as the witness returns it."""
    witness = key_id(raw_public_key(private_key))
    signature = private_key.sign(cosignature_message(witness, time, checkpoint_canonical))
    return {"witness": witness, "time": time, "signature": base64.b64encode(signature).decode("ascii")}


def verify_cosignature(public_key_hex: str, cosignature: dict, checkpoint_canonical: bytes) -> bool:
    """Whether the witness whose public key is given cosigned exactly these checkpoint bytes."""
    if not isinstance(cosignature, dict):
        return False
    try:
        witness = key_id(load_public_key(public_key_hex).public_bytes(Encoding.Raw, PublicFormat.Raw))
        parse_time(cosignature.get("time"))
    except (Malformed, ValueError):
        return False
    if cosignature.get("witness") != witness:
        return False
    message = cosignature_message(witness, cosignature["time"], checkpoint_canonical)
    return verify_signature(public_key_hex, cosignature.get("signature"), message)
