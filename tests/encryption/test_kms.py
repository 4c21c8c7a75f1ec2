"""The AWS KMS provider against moto's KMS in server mode: wrap, unwrap, rotate, re-wrap."""

from __future__ import annotations

from typing import Any

import pytest

from encryption import crypto, services
from encryption.errors import DecryptionFailed, KeyringError
from encryption.keyring import keyring
from encryption.models import DataKey, KekProvider
from tests.encryption.conftest import note_create, note_reload


def kms_key(kms: Any) -> str:
    return str(kms.create_key(Description="portal KEK")["KeyMetadata"]["Arn"])


class TestProvider:
    def test_wrap_and_unwrap(self, kms: Any) -> None:
        key_id, dek = kms_key(kms), crypto.new_key()
        wrapped = keyring().kms.wrap(key_id, dek, dek_id="d1")
        assert dek not in wrapped
        assert keyring().kms.unwrap(key_id, wrapped, dek_id="d1") == dek

    def test_the_encryption_context_binds_the_wrapped_key_to_its_row(self, kms: Any) -> None:
        key_id = kms_key(kms)
        wrapped = keyring().kms.wrap(key_id, crypto.new_key(), dek_id="d1")
        with pytest.raises(DecryptionFailed):
            keyring().kms.unwrap(key_id, wrapped, dek_id="d2")

    def test_an_unknown_key_is_a_keyring_error(self, kms: Any) -> None:
        with pytest.raises(KeyringError, match="NotFoundException"):
            keyring().kms.wrap("alias/does-not-exist", crypto.new_key(), dek_id="d1")


@pytest.mark.django_db
class TestRotation:
    def test_a_kms_key_configured_first_becomes_primary(self, kms: Any, settings: Any) -> None:
        settings.ENCRYPTION_KMS_KEY_ID = key_id = kms_key(kms)
        note = note_create(subject="under kms")
        assert note.data_key.kek_id == key_id
        assert note_reload(note).subject == "under kms"

    def test_rotate_from_local_to_kms_then_to_a_second_kms_key(self, kms: Any) -> None:
        notes = [note_create(subject=f"note {i}") for i in range(5)]
        first, second = kms_key(kms), kms_key(kms)
        for key_id in (first, second):
            services.keys_rotate(key_id=key_id, provider=KekProvider.AWS_KMS)
            assert services.keys_rewrap(batch_size=2).remaining == 0
        assert set(DataKey.objects.values_list("kek_id", flat=True)) == {second}
        services.kek_retire(key_id=first)
        assert [note_reload(n).subject for n in notes] == [f"note {i}" for i in range(5)]
