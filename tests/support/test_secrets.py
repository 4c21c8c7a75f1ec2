"""Secrets fit for production, and the guard that no published value passes as one."""

from __future__ import annotations

import ast
import re
import secrets
import subprocess
from collections.abc import Iterator
from pathlib import Path

from support.secrets import (
    decode_key,
    fingerprint,
    key_problem,
    local_keys_problems,
    secret_problem,
)

ROOT = Path(__file__).resolve().parents[2]
_SPLIT = re.compile(r"[\s'\"`,;()\[\]{}<>|]+")
_BINARY = {".png", ".jpg", ".jpeg", ".pdf", ".ico", ".woff", ".woff2", ".gz"}


def _texts(path: Path) -> Iterator[str]:
    text = path.read_text(encoding="utf-8", errors="replace")
    if path.suffix != ".py":
        yield text
        return
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node.value


_ENV_NAME = re.compile(r"^[A-Z][A-Z0-9_]*=")


def _tokens(text: str) -> Iterator[str]:
    for token in _SPLIT.split(text):
        if _ENV_NAME.match(token):  # NAME=value: only the value could be a secret
            token = token.split("=", 1)[1]
        yield token
        if ":" in token:  # id:base64key
            yield token.split(":", 1)[1]


def published_candidates() -> dict[str, str]:
    """Every token in the repository production would accept as a secret or a key,
    with the file it is in (the value itself is never printed)."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    found: dict[str, str] = {}
    for name in listed:
        path = ROOT / name
        if path.suffix in _BINARY or not path.is_file():
            continue
        for text in _texts(path):
            for token in _tokens(text):
                raw = decode_key(token) if 40 <= len(token) <= 44 else None
                if raw is not None and len(raw) == 32 and key_problem(raw) is None:
                    found[fingerprint(raw)] = name
                if len(token) >= 32 and secret_problem(token, min_length=32) is None:
                    found[fingerprint(token)] = name
    return found


class TestPublishedValues:
    def test_no_value_in_the_repository_passes_as_a_production_secret(self) -> None:
        missing = published_candidates()
        lines = "\n".join(f'    "{fp}",  # {name}' for fp, name in sorted(missing.items()))
        assert not missing, f"add these fingerprints to support/published.py:\n{lines}"

    def test_the_development_defaults_are_refused(self) -> None:
        from django.conf import settings

        assert secret_problem("insecure-demo-and-test-only-key-x9" * 2, min_length=50)
        key = str(settings.ENCRYPTION_KEYS).split(",")[0].split(":", 1)[1]
        assert local_keys_problems(f"dev:{key}")


class TestSecretProblem:
    def test_a_generated_value_passes(self) -> None:
        assert secret_problem(secrets.token_urlsafe(48), min_length=50) is None

    def test_it_refuses_a_short_value(self) -> None:
        assert secret_problem("Zq9vX2mN4bP7", min_length=32) == "must be at least 32 characters"

    def test_it_refuses_a_repeated_character(self) -> None:
        assert "not random" in str(secret_problem("b1" * 20, min_length=32))

    def test_it_refuses_a_placeholder(self) -> None:
        value = "change-me-" + secrets.token_urlsafe(32)
        assert "placeholder" in str(secret_problem(value, min_length=32))

    def test_it_refuses_a_passphrase_with_spaces(self) -> None:
        value = "a rotated key also long enough 42 to be real"
        assert secret_problem(value, min_length=32) == "must not contain spaces"

    def test_the_message_never_quotes_the_value(self) -> None:
        value = "q" * 20 + "1"
        assert value not in str(secret_problem(value, min_length=32))


class TestKeys:
    def test_a_random_key_passes(self) -> None:
        assert local_keys_problems(f"k1:{secrets.token_urlsafe(32)}") == []

    def test_a_key_of_one_repeated_byte_is_refused_by_id(self) -> None:
        import base64

        weak = base64.urlsafe_b64encode(b"1" * 32).decode()
        problems = local_keys_problems(f"good:{secrets.token_urlsafe(32)},weak:{weak}")
        assert problems == ["key 'weak' is not random (too few distinct bytes)"]
