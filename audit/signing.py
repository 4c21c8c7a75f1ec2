"""The Ed25519 key that signs audit checkpoints, and the public keys that verify them.

The private key is a PEM file (``AUDIT_SIGNING_KEY_FILE``) that only the sealer needs;
an auditor needs only the public key (``manage.py audit_signing_key --public``). Demo
and tests make a key under ``var/audit-signing/`` on first use; production refuses to
start without the setting, and ``check --deploy`` loads the key (audit.E001).
"""

from __future__ import annotations

import contextlib
import functools
import os
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings
from django.core import checks

from audit import chain
from support.env import ConfigError


def signing_key() -> Ed25519PrivateKey:
    """The sealer's private key (made on first use outside production)."""
    path = Path(settings.AUDIT_SIGNING_KEY_FILE)
    if not settings.PRODUCTION and path.parent == Path(settings.AUDIT_SIGNING_DEMO_DIR):
        key_create(path, exist_ok=True)
    return _private_key_load(str(path))


def public_keys() -> dict[str, Ed25519PublicKey]:
    """Every public key a checkpoint may name, by key id: the current and the retired."""
    keys = [signing_key().public_key()]
    keys += [
        public_key_load(Path(name)) for name in settings.AUDIT_SIGNING_RETIRED_PUBLIC_KEY_FILES
    ]
    return {chain.public_key_id(key): key for key in keys}


def public_key_pem(key: Ed25519PublicKey) -> str:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def public_key_load(path: Path) -> Ed25519PublicKey:
    """A public key from a PEM file (or the public half of a private key's PEM)."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ConfigError(f"cannot read the public key {path}: {error.strerror}") from None
    try:
        key: Any = serialization.load_pem_public_key(data)
    except ValueError:
        try:
            key = serialization.load_pem_private_key(data, password=None).public_key()
        except (ValueError, TypeError):
            raise ConfigError(f"{path} holds no PEM public key") from None
    if not isinstance(key, Ed25519PublicKey):
        raise ConfigError(f"{path} holds a public key that is not Ed25519")
    return key


@functools.lru_cache(maxsize=4)
def _private_key_load(path: str) -> Ed25519PrivateKey:
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        raise ConfigError(f"AUDIT_SIGNING_KEY_FILE cannot be read: {error.strerror}") from None
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        raise ConfigError("AUDIT_SIGNING_KEY_FILE holds no unencrypted PEM private key") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigError("AUDIT_SIGNING_KEY_FILE holds a key that is not Ed25519")
    return key


def key_create(path: Path, *, exist_ok: bool = False) -> bool:
    """Write a new private key to ``path`` (0600, in a 0700 folder); never replaces one.

    The key is written to a temporary name and linked into place, so two processes
    making the demo key at once end up with one key, and a reader never sees half a file.
    Returns whether a key was made.
    """
    if path.exists():
        if exist_ok:
            return False
        raise ConfigError(f"{path} already exists; a signing key is never overwritten")
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(pem)
    try:
        os.link(temporary, path)
    except FileExistsError:
        if not exist_ok:
            raise ConfigError(f"{path} already exists") from None
        return False
    finally:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
    return True


def signing_check(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """``check --deploy``: the checkpoint key loads, and an anchor sink is chosen."""
    if not settings.PRODUCTION:
        return []
    problems: list[checks.CheckMessage] = []
    try:
        signing_key()
    except ConfigError as error:
        problems.append(
            checks.Error(
                str(error),
                hint="Make a key with `manage.py audit_signing_key --new PATH` and give "
                "auditors the output of `manage.py audit_signing_key --public`.",
                id="audit.E001",
            )
        )
    if settings.AUDIT_ANCHOR_SINK == "none":
        problems.append(
            checks.Warning(
                "AUDIT_ANCHOR_SINK is none: checkpoint heads are not written outside the "
                "database, so a database restored from an older backup goes unnoticed",
                hint="Set AUDIT_ANCHOR_SINK=s3 (a bucket with Object Lock in compliance "
                "mode) or file (AUDIT_ANCHOR_PATH on a separate, append-only volume).",
                id="audit.W005",
            )
        )
    return problems
