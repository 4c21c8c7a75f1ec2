"""The encryption app's one exception family.

Messages name ids and reasons only: never plaintext, never key material, never a
file name (that is PHI too). Callers catch ``EncryptionError``; ``Erased`` is the one
they are expected to handle as a normal outcome (retention destroyed the data key).
"""

from __future__ import annotations

from datetime import datetime


class EncryptionError(Exception):
    """Base class: configuration, key and ciphertext problems of this app."""


class KeyringError(EncryptionError):
    """The keyring is misconfigured, a KEK is missing, or a key operation was refused."""


class DecryptionFailed(EncryptionError):
    """Authentication failed: wrong key, wrong owner, or altered, truncated or reordered data."""


class Erased(EncryptionError):
    """The object's data key was destroyed (crypto-shredding): the content is gone for good.

    Templates render it as an empty value instead of crashing the page
    (``silent_variable_failure``); code that wants to say "erased" checks for it.
    """

    silent_variable_failure = True

    def __init__(self, data_key_id: object, erased_at: datetime | None = None) -> None:
        self.data_key_id = data_key_id
        self.erased_at = erased_at
        when = f" on {erased_at:%Y-%m-%d}" if erased_at else ""
        super().__init__(f"content was erased{when} (data key {data_key_id} destroyed)")


class StoreFull(EncryptionError):
    """The file store has no room for the object (its disk or quota is full). The upload
    fails as a whole (``files.file_store`` removes what it wrote and destroys the key);
    pages answer 503 with a message (``middleware.StoreFullMiddleware``)."""
