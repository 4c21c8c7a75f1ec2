"""Reading the keyring configuration: the format, the first primary, errors that hide keys."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured

from encryption.apps import EncryptionConfig
from encryption.errors import KeyringError
from encryption.keyring import AWS_KMS, LOCAL, keyring_from_settings, local_keys_parse
from tests.encryption.conftest import KEY_1, KEY_2

STANDARD_B64 = "MTExMTExMTExMTExMTExMTExMTExMTExMTExMTExMTE="  # 32 x "1", with padding


class TestLocalKeysFormat:
    def test_several_keys_keep_their_order(self) -> None:
        keys = local_keys_parse(f"b:{KEY_2}, a:{KEY_1}")
        assert list(keys) == ["b", "a"] and keys["a"] == b"1" * 32

    def test_standard_base64_with_padding_is_accepted(self) -> None:
        assert local_keys_parse(f"k:{STANDARD_B64}")["k"] == b"1" * 32

    @pytest.mark.parametrize(
        ("value", "message"),
        [
            (KEY_1, "must be id:base64key"),
            (f"bad id:{KEY_1}", "must be id:base64key"),
            ("k:not*base64", "not valid base64"),
            ("k:c2hvcnQ", "exactly 32 bytes"),
            (f"k:{KEY_1},k:{KEY_2}", "twice"),
        ],
    )
    def test_malformed_values_are_refused_without_echoing_a_key(
        self, value: str, message: str
    ) -> None:
        with pytest.raises(KeyringError, match=message) as raised:
            local_keys_parse(value)
        assert KEY_1 not in str(raised.value) and KEY_2 not in str(raised.value)


class TestFirstPrimary:
    def test_first_local_key_by_default(self, two_keys: None) -> None:
        assert keyring_from_settings().initial_primary == (LOCAL, "k1")

    def test_named_by_encryption_primary_key_id(self, two_keys: None, settings: Any) -> None:
        settings.ENCRYPTION_PRIMARY_KEY_ID = "k2"
        assert keyring_from_settings().initial_primary == (LOCAL, "k2")

    def test_kms_when_configured(self, two_keys: None, settings: Any) -> None:
        settings.ENCRYPTION_KMS_KEY_ID = "arn:aws:kms:eu-west-1:111122223333:key/abc"
        assert keyring_from_settings().initial_primary == (AWS_KMS, settings.ENCRYPTION_KMS_KEY_ID)

    def test_an_unknown_primary_id_is_refused(self, two_keys: None, settings: Any) -> None:
        settings.ENCRYPTION_PRIMARY_KEY_ID = "k3"
        with pytest.raises(KeyringError, match="ENCRYPTION_PRIMARY_KEY_ID"):
            keyring_from_settings()

    def test_start_up_fails_closed_on_a_malformed_keyring(self, settings: Any) -> None:
        settings.ENCRYPTION_KEYS = "k1:short"
        import encryption

        with pytest.raises(ImproperlyConfigured, match="ENCRYPTION_KEYS"):
            EncryptionConfig("encryption", encryption).ready()
