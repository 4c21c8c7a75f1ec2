"""The arithmetic of the audit chain: canonical bytes, seal MACs, checkpoint signatures.

No Django here (45 CFR 164.312(b) integrity of the audit trail), so an auditor can
re-implement it from this page:

* An event's canonical form is compact UTF-8 JSON: an array that starts with the
  format tag ``"audit-event/1"`` followed by the fields in sorted key order
  (``FIELDS``), time in UTC ISO 8601 with microseconds and ``Z``, and ``details`` as
  an object with sorted keys. An array with a fixed, documented order is as
  canonical as an object with sorted keys and about half the cost to encode, which
  matters because verification encodes every event ever written.
* A seal is ``HMAC-SHA256(k, "<prev_event_id>:<prev_hash>\\n" + canonical)`` in hex;
  the first seal's predecessor is ``0`` and ``GENESIS``. Keying the chain (rather
  than plain SHA-256) means a person with database access but not the key cannot
  compute a valid seal for an inserted or edited event, so verification names the
  exact event instead of "something before checkpoint N".
* ``k`` is derived from the ``AUDIT_SEAL_KEY`` secret, never stored in the database;
  ``key_id`` (a hash of ``k``) is stored so seals made before a key rotation remain
  verifiable with the retired key.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

FORMAT_TAG = "audit-event/1"
GENESIS = "0" * 64

# Sorted key order; the SQL in ``audit.services`` selects the columns in this order.
FIELDS: tuple[str, ...] = (
    "action",
    "actor_id",
    "actor_kind",
    "actor_label",
    "actor_role",
    "details",
    "id",
    "ip",
    "occurred_at",
    "outcome",
    "patient_id",
    "request_id",
    "target_id",
    "target_type",
    "user_agent",
)
DETAILS_INDEX = FIELDS.index("details")
_N_FIELDS = len(FIELDS)

_EMPTY_OBJECT = "{}"


def _refuse(value: Any) -> Any:
    raise TypeError(f"{type(value).__name__} has no canonical form")


def _make_encoder() -> Callable[[Any], str]:
    """Compact, sorted-key, non-ASCII-preserving JSON.

    Verification encodes every event ever written, so we call CPython's C encoder
    directly when it is there (skipping ``JSONEncoder.encode``'s per-call Python
    overhead, about a fifth of the cost); the fallback produces the same bytes and a
    test holds the two together.
    """
    fallback = json.JSONEncoder(
        sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode
    c_make_encoder = getattr(json.encoder, "c_make_encoder", None)
    c_encode_basestring = getattr(json.encoder, "c_encode_basestring", None)
    if c_make_encoder is None or c_encode_basestring is None:
        return fallback
    # (markers, default, encoder, indent, key_sep, item_sep, sort_keys, skipkeys, allow_nan)
    iterencode = c_make_encoder(
        None, _refuse, c_encode_basestring, None, ":", ",", True, False, False
    )
    return lambda value: "".join(iterencode(value, 0))


_encode = _make_encoder()


def canonical(row: Sequence[Any]) -> bytes:
    """Canonical bytes of one event given as values in ``FIELDS`` order (extra trailing
    values, such as the seal columns of the verifier's join, are ignored).

    ``details`` arrives as JSON text (as PostgreSQL returns ``jsonb``); it is parsed and
    re-encoded here so the form does not depend on the server's output formatting.
    """
    details = row[DETAILS_INDEX]
    parsed = {} if details == _EMPTY_OBJECT else json.loads(details)
    return _encode(
        [FORMAT_TAG, *row[:DETAILS_INDEX], parsed, *row[DETAILS_INDEX + 1 : _N_FIELDS]]
    ).encode()


@dataclass(frozen=True)
class SealKey:
    key_id: str
    secret: bytes


def derive_key(secret: str) -> SealKey:
    """The MAC key for a configured secret: domain-separated so it is used for nothing else."""
    key = hmac.digest(secret.encode(), b"portal audit chain v1", "sha256")
    key_id = hashlib.sha256(b"audit key id\x00" + key).hexdigest()[:16]
    return SealKey(key_id=key_id, secret=key)


class Keyring:
    """The current key (for sealing) and retired keys (for verifying old seals only)."""

    def __init__(self, current: str, retired: Iterable[str] = ()) -> None:
        self.current = derive_key(current)
        self._by_id = {self.current.key_id: self.current}
        for secret in retired:
            key = derive_key(secret)
            self._by_id.setdefault(key.key_id, key)

    def get(self, key_id: str) -> SealKey | None:
        return self._by_id.get(key_id)


def seal_hash(key: bytes, prev_event_id: int, prev_hash: str, canonical_event: bytes) -> str:
    message = f"{prev_event_id}:{prev_hash}\n".encode() + canonical_event
    return hmac.digest(key, message, "sha256").hex()


def checkpoint_message(
    *, through_event_id: int, head_hash: str, count: int, created_at: str, key_id: str
) -> bytes:
    fields = (through_event_id, head_hash, count, created_at, key_id)
    return "|".join(["audit-checkpoint/1", *map(str, fields)]).encode()


def checkpoint_signature(key: bytes, message: bytes) -> str:
    return hmac.digest(key, message, "sha256").hex()


def signature_matches(expected: str, given: str) -> bool:
    return hmac.compare_digest(expected, given)


# ---------------------------------------------------------------------------------------
# Public verification: Ed25519 checkpoints over an unkeyed chain.
#
# The seals above need the secret to check. So that an auditor holding only the public
# key can check an exported trail, an Ed25519 checkpoint also signs a *public head*: a
# plain SHA-256 chain over the same canonical events,
# ``link = SHA-256(prev_link + "\n" + canonical)`` in hex, that starts from the previous
# checkpoint's public head (``GENESIS`` after an HMAC checkpoint, which has none). The
# signed message names the previous checkpoint's event too, so batches cannot be
# dropped or re-ordered:
#
#   ``audit-checkpoint/2|<through>|<count>|<head_hash>|<public_head>|<prev_through>|
#   <created_at>|<key_id>``
#
# The signature is Ed25519 over those UTF-8 bytes, in hex; ``key_id`` is the first 16
# hex digits of SHA-256 over the raw 32-byte public key.

ED25519 = "ed25519"
HMAC_SHA256 = "hmac-sha256"


def public_link(prev_link: str, canonical_event: bytes) -> str:
    return hashlib.sha256(prev_link.encode() + b"\n" + canonical_event).hexdigest()


def checkpoint_message_v2(
    *,
    through_event_id: int,
    count: int,
    head_hash: str,
    public_head: str,
    prev_through_event_id: int,
    created_at: str,
    key_id: str,
) -> bytes:
    fields = (
        through_event_id,
        count,
        head_hash,
        public_head,
        prev_through_event_id,
        created_at,
        key_id,
    )
    return "|".join(["audit-checkpoint/2", *map(str, fields)]).encode()


def public_key_id(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def ed25519_sign(private_key: Ed25519PrivateKey, message: bytes) -> str:
    return private_key.sign(message).hex()


def ed25519_verifies(public_key: Ed25519PublicKey, message: bytes, signature: str) -> bool:
    try:
        public_key.verify(bytes.fromhex(signature), message)
    except (InvalidSignature, ValueError):
        return False
    return True
