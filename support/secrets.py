"""Is a configured secret fit for production? Plain rules, no Django.

Production refuses (``config/settings.py``, naming the variable, never the value):

- any value published in this repository: the demo and test defaults, example values,
  test fixtures. Their SHA-256 fingerprints are in ``support/published.py``, and
  ``tests/support/test_secrets.py`` scans the repository so a new one cannot be missed;
- a value shorter than the variable's minimum, with whitespace, with a placeholder word
  ("insecure", "changeme", "example" ...), without both letters and digits, or with
  fewer than 12 distinct characters (``"b" * 40``). Generated values (``openssl rand
  -base64 48``, ``python -c 'import secrets; print(secrets.token_urlsafe(48))'``) pass;
- an encryption key (32 bytes) that is published or has fewer than 12 distinct bytes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib

from support.published import PUBLISHED

PLACEHOLDER_WORDS = (
    "insecure",
    "changeme",
    "change-me",
    "change_me",
    "example",
    "placeholder",
    "password",
    "secret",
)
MIN_DISTINCT = 12


def fingerprint(value: str | bytes) -> str:
    data = value.encode() if isinstance(value, str) else value
    return hashlib.sha256(data).hexdigest()


def published(value: str | bytes) -> bool:
    return fingerprint(value) in PUBLISHED or (isinstance(value, str) and value in PUBLISHED)


def secret_problem(value: str, *, min_length: int) -> str | None:
    """Why ``value`` is not fit to be a production secret, or None. Never quotes it."""
    if published(value):
        return "is a value published in the source code (a demo, example or test value)"
    if len(value) < min_length:
        return f"must be at least {min_length} characters"
    if any(char.isspace() for char in value):
        return "must not contain spaces"
    lowered = value.lower()
    if any(word in lowered for word in PLACEHOLDER_WORDS):
        return "looks like a placeholder, not a random value"
    if not (any(c.isalpha() for c in value) and any(c.isdigit() for c in value)):
        return "must be random: letters and digits"
    if len(set(value)) < MIN_DISTINCT:
        return "is not random enough (too few distinct characters)"
    return None


def key_problem(raw: bytes) -> str | None:
    """Why a 32-byte encryption key is not fit for production, or None."""
    if published(raw):
        return "is a key published in the source code (a demo or test key)"
    if len(set(raw)) < MIN_DISTINCT:
        return "is not random (too few distinct bytes)"
    return None


def decode_key(encoded: str) -> bytes | None:
    """The bytes of a base64 (standard or URL-safe, padding optional) key, or None."""
    encoded = encoded.strip()
    try:
        return base64.urlsafe_b64decode(
            encoded.replace("+", "-").replace("/", "_") + "=" * (-len(encoded) % 4)
        )
    except (binascii.Error, ValueError):
        return None


def local_keys_problems(value: str) -> list[str]:
    """For ``id:base64key,...``: each key that production must refuse, by id.

    Malformed entries are left to the keyring's own parser, which names them.
    """
    problems = []
    for entry in value.split(","):
        key_id, _, encoded = entry.strip().partition(":")
        raw = decode_key(encoded)
        if raw is None or len(raw) != 32:
            continue
        problem = key_problem(raw)
        if problem:
            problems.append(f"key {key_id.strip()!r} {problem}")
    return problems
