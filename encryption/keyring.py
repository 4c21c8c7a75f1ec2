"""Key-encryption keys (KEKs): where they come from and the one interface over them.

Two providers wrap and unwrap data keys (DEKs):

* ``local``: AES-256 keys from ``ENCRYPTION_KEYS`` (or the file ``ENCRYPTION_KEYS_FILE``),
  written ``id:base64key[,id:base64key...]``. Several at once, so a rotation can add the
  new key everywhere before it becomes primary and keep the old one until it is retired.
* ``aws-kms``: AWS KMS through boto3. The key never leaves KMS; each wrap and unwrap is
  one ``Encrypt``/``Decrypt`` call with an encryption context naming the data key.

Which KEK is *primary* (wraps new DEKs) and which are retired is recorded in the
database (``encryption.models.Kek``), not in the environment: every process sees a
rotation at once, with no restart, and the environment only has to hold the keys.
``ENCRYPTION_PRIMARY_KEY_ID`` / ``ENCRYPTION_KMS_KEY_ID`` only choose the first primary
of a new installation.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Protocol

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

from encryption import crypto
from encryption.errors import DecryptionFailed, KeyringError

LOCAL = "local"
AWS_KMS = "aws-kms"
_KEY_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def local_keys_parse(value: str | None, *, name: str = "ENCRYPTION_KEYS") -> dict[str, bytes]:
    """``id:base64key,...`` to ``{id: 32 bytes}``, in the given order; errors name no key."""
    keys: dict[str, bytes] = {}
    for position, entry in enumerate((value or "").split(","), start=1):
        entry = entry.strip()
        if not entry:
            continue
        key_id, sep, encoded = entry.partition(":")
        key_id = key_id.strip()
        if not sep or not _KEY_ID.match(key_id):
            raise KeyringError(
                f"{name} entry {position} must be id:base64key (id: letters, digits, . _ -)"
            )
        try:
            encoded = encoded.strip()
            raw = base64.urlsafe_b64decode(
                encoded.replace("+", "-").replace("/", "_") + "=" * (-len(encoded) % 4)
            )
        except (binascii.Error, ValueError):
            raise KeyringError(f"{name} key {key_id!r} is not valid base64") from None
        if len(raw) != crypto.KEY_BYTES:
            raise KeyringError(f"{name} key {key_id!r} must decode to exactly 32 bytes")
        if key_id in keys:
            raise KeyringError(f"{name} names key {key_id!r} twice")
        keys[key_id] = raw
    return keys


class KekProvider(Protocol):
    """Wraps and unwraps DEKs under a KEK named by id; the KEK itself never leaves it."""

    @property
    def name(self) -> str: ...

    def available(self, kek_id: str) -> bool: ...

    def wrap(self, kek_id: str, dek: bytes, *, dek_id: str) -> bytes: ...

    def unwrap(self, kek_id: str, wrapped: bytes, *, dek_id: str) -> bytes: ...


@dataclass(frozen=True)
class LocalProvider:
    keys: dict[str, bytes] = field(repr=False)
    name: str = LOCAL

    def available(self, kek_id: str) -> bool:
        return kek_id in self.keys

    def _key(self, kek_id: str) -> bytes:
        try:
            return self.keys[kek_id]
        except KeyError:
            raise KeyringError(f"key {kek_id!r} is not in ENCRYPTION_KEYS on this server") from None

    def wrap(self, kek_id: str, dek: bytes, *, dek_id: str) -> bytes:
        return crypto.kek_wrap(self._key(kek_id), dek, kek_id=kek_id, dek_id=dek_id)

    def unwrap(self, kek_id: str, wrapped: bytes, *, dek_id: str) -> bytes:
        return crypto.kek_unwrap(self._key(kek_id), wrapped, kek_id=kek_id, dek_id=dek_id)


class AwsKmsProvider:
    """AWS KMS: the encryption context binds each wrapped DEK to its own row."""

    name = AWS_KMS

    def __init__(self, *, region: str | None, endpoint_url: str | None) -> None:
        self._region = region
        self._endpoint_url = endpoint_url
        self._client: Any = None

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3  # only sites that use KMS pay for importing it

            self._client = boto3.client(
                "kms", region_name=self._region, endpoint_url=self._endpoint_url
            )
        return self._client

    def available(self, kek_id: str) -> bool:
        return bool(kek_id)  # KMS decides per call; keys_rotate proves it with a round trip

    @staticmethod
    def _context(dek_id: str) -> dict[str, str]:
        return {"purpose": "portal.dek.v1", "dek": dek_id}

    def wrap(self, kek_id: str, dek: bytes, *, dek_id: str) -> bytes:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            answer = self.client.encrypt(
                KeyId=kek_id, Plaintext=dek, EncryptionContext=self._context(dek_id)
            )
        except (BotoCoreError, ClientError) as error:
            raise KeyringError(
                f"AWS KMS refused to wrap under {kek_id!r}: {_code(error)}"
            ) from None
        return bytes(answer["CiphertextBlob"])

    def unwrap(self, kek_id: str, wrapped: bytes, *, dek_id: str) -> bytes:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            answer = self.client.decrypt(
                KeyId=kek_id, CiphertextBlob=wrapped, EncryptionContext=self._context(dek_id)
            )
        except ClientError as error:
            if _code(error) == "InvalidCiphertextException":
                raise DecryptionFailed(
                    f"data key {dek_id} does not unwrap under {kek_id!r} (wrong key or altered)"
                ) from None
            raise KeyringError(f"AWS KMS refused to unwrap: {_code(error)}") from None
        except BotoCoreError as error:
            raise KeyringError(f"AWS KMS unreachable: {type(error).__name__}") from None
        return bytes(answer["Plaintext"])


def _code(error: Exception) -> str:
    response = getattr(error, "response", None) or {}
    return str(response.get("Error", {}).get("Code", type(error).__name__))


@dataclass(frozen=True)
class Keyring:
    """The providers this process can use, and the KEK a new installation starts with."""

    local: LocalProvider
    kms: AwsKmsProvider
    initial_primary: tuple[str, str] | None  # (provider, kek id)

    def provider(self, name: str) -> KekProvider:
        if name == LOCAL:
            return self.local
        if name == AWS_KMS:
            return self.kms
        raise KeyringError(f"unknown key provider {name!r}")


def keyring_from_settings() -> Keyring:
    local = LocalProvider(local_keys_parse(settings.ENCRYPTION_KEYS))
    kms_key = settings.ENCRYPTION_KMS_KEY_ID
    wanted = settings.ENCRYPTION_PRIMARY_KEY_ID
    initial: tuple[str, str] | None
    if wanted:
        if wanted in local.keys:
            initial = (LOCAL, wanted)
        elif wanted == kms_key:
            initial = (AWS_KMS, wanted)
        else:
            raise KeyringError(
                "ENCRYPTION_PRIMARY_KEY_ID names a key that is neither in ENCRYPTION_KEYS "
                "nor ENCRYPTION_KMS_KEY_ID"
            )
    elif kms_key:
        initial = (AWS_KMS, kms_key)
    elif local.keys:
        initial = (LOCAL, next(iter(local.keys)))
    else:
        initial = None
    kms = AwsKmsProvider(
        region=settings.ENCRYPTION_KMS_REGION, endpoint_url=settings.ENCRYPTION_KMS_ENDPOINT_URL
    )
    return Keyring(local=local, kms=kms, initial_primary=initial)


@cache
def keyring() -> Keyring:
    return keyring_from_settings()


@receiver(setting_changed)
def _keyring_reset(*, setting: str, **kwargs: Any) -> None:
    if setting.startswith("ENCRYPTION_"):
        keyring.cache_clear()
