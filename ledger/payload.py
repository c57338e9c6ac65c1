"""Turning service arguments into an audit payload.

Decimals become strings (never floats), dates ISO strings, and personal data enters
only as a salted hash (law 09-08).
"""

import datetime
import hashlib
import hmac
from decimal import Decimal

from django.conf import settings


def pii_hash(value: str) -> str:
    """A salted, keyed hash of a personal value (CIN, disability details)."""
    key = settings.TAMKEEN_PII_SALT.encode()
    return "hmac-sha256:" + hmac.new(key, str(value).encode(), hashlib.sha256).hexdigest()


def to_jsonable(value):
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime.datetime):
        return value.astimezone(datetime.UTC).isoformat(timespec="microseconds")
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [to_jsonable(v) for v in value]
    if value is None or isinstance(value, (str, int, bool)):
        return value
    if isinstance(value, float):
        raise TypeError("floats are not allowed in audit payloads; use Decimal")
    return str(value)
