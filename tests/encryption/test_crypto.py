"""The formats in encryption.crypto: round trips and every kind of tampering (no database)."""

from __future__ import annotations

import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from encryption import crypto
from encryption.errors import DecryptionFailed
from tests.encryption.conftest import payload

KEY = b"k" * 32
OWNER = ("app.model", "7d1c0b52-0000-4000-8000-000000000001", "content")
SMALL = 64  # a tiny chunk size, so a few hundred bytes make many records
MiB = 1024 * 1024
DEFAULT = crypto.DEFAULT_CHUNK_SIZE


def encrypt(data: bytes, chunk_size: int = SMALL, owner: tuple[str, ...] = OWNER) -> bytes:
    return b"".join(crypto.stream_encrypt(KEY, io.BytesIO(data), owner, chunk_size=chunk_size))


def decrypt(blob: bytes, owner: tuple[str, ...] = OWNER) -> bytes:
    return b"".join(crypto.stream_decrypt(KEY, io.BytesIO(blob), owner))


def records(blob: bytes, chunk_size: int = SMALL) -> tuple[bytes, list[bytes]]:
    header, body = blob[: crypto.STREAM_HEADER.size], blob[crypto.STREAM_HEADER.size :]
    size = chunk_size + crypto.TAG_BYTES
    return header, [body[i : i + size] for i in range(0, len(body), size)]


class TestStreamRoundTrip:
    @pytest.mark.parametrize(
        "size",
        [0, 1, DEFAULT - 1, DEFAULT, DEFAULT + 1],
    )
    def test_default_chunk_boundaries(self, size: int) -> None:
        data = payload(size)
        assert decrypt(encrypt(data, crypto.DEFAULT_CHUNK_SIZE)) == data

    def test_several_mebibytes(self) -> None:
        data = payload(5 * MiB + 3)
        assert decrypt(encrypt(data, crypto.DEFAULT_CHUNK_SIZE)) == data

    @settings(max_examples=60, deadline=None)
    @given(
        size=st.one_of(
            st.sampled_from([0, 1, SMALL - 1, SMALL, SMALL + 1, 2 * SMALL, 3 * SMALL + 1]),
            st.integers(min_value=0, max_value=20 * SMALL),
        ),
        chunk_size=st.sampled_from([1, 16, SMALL, 1000]),
        seed=st.integers(0, 2**16),
    )
    def test_any_size_and_chunk_size(self, size: int, chunk_size: int, seed: int) -> None:
        data = payload(size, seed)
        assert decrypt(encrypt(data, chunk_size)) == data

    def test_ciphertext_length_is_header_plus_one_tag_per_chunk(self) -> None:
        blob = encrypt(payload(3 * SMALL))  # three full chunks, the last one flagged
        assert len(blob) == crypto.STREAM_HEADER.size + 3 * (SMALL + crypto.TAG_BYTES)

    def test_the_same_plaintext_encrypts_differently_each_time(self) -> None:
        assert encrypt(b"same") != encrypt(b"same")


class TestStreamTampering:
    @settings(max_examples=80, deadline=None)
    @given(data=st.data())
    def test_any_bit_flip_fails(self, data: st.DataObject) -> None:
        blob = bytearray(encrypt(payload(5 * SMALL + 9)))
        position = data.draw(st.integers(0, len(blob) - 1))
        blob[position] ^= 1 << data.draw(st.integers(0, 7))
        with pytest.raises(DecryptionFailed):
            decrypt(bytes(blob))

    @settings(max_examples=80, deadline=None)
    @given(data=st.data())
    def test_any_truncation_fails(self, data: st.DataObject) -> None:
        blob = encrypt(payload(5 * SMALL))
        cut = data.draw(st.integers(0, len(blob) - 1))
        with pytest.raises(DecryptionFailed):
            decrypt(blob[:cut])

    def test_truncation_at_a_record_boundary_fails(self) -> None:
        header, chunks = records(encrypt(payload(4 * SMALL + 5)))
        with pytest.raises(DecryptionFailed, match="chunk 3"):
            decrypt(header + b"".join(chunks[:4]))

    def test_reordered_chunks_fail(self) -> None:
        header, chunks = records(encrypt(payload(4 * SMALL)))
        chunks[1], chunks[2] = chunks[2], chunks[1]
        with pytest.raises(DecryptionFailed, match="chunk 1"):
            decrypt(header + b"".join(chunks))

    def test_a_duplicated_chunk_fails(self) -> None:
        header, chunks = records(encrypt(payload(4 * SMALL)))
        with pytest.raises(DecryptionFailed):
            decrypt(header + b"".join([chunks[0], chunks[0], *chunks[1:]]))

    def test_appended_data_fails(self) -> None:
        blob = encrypt(payload(2 * SMALL))
        _, extra = records(encrypt(payload(SMALL)))
        with pytest.raises(DecryptionFailed):
            decrypt(blob + extra[0])

    def test_a_changed_chunk_size_in_the_header_fails(self) -> None:
        blob = bytearray(encrypt(payload(4 * SMALL)))
        blob[5:9] = (2 * SMALL).to_bytes(4, "big")
        with pytest.raises(DecryptionFailed):
            decrypt(bytes(blob))

    def test_another_owner_cannot_decrypt(self) -> None:
        blob = encrypt(b"for one row only")
        with pytest.raises(DecryptionFailed):
            decrypt(blob, owner=(OWNER[0], OWNER[1], "other_field"))

    def test_the_error_names_no_plaintext(self) -> None:
        blob = bytearray(encrypt(b"PATIENT-SECRET-TEXT"))
        blob[-1] ^= 1
        with pytest.raises(DecryptionFailed) as raised:
            decrypt(bytes(blob))
        assert "PATIENT" not in str(raised.value)


class TestFieldFormat:
    @settings(max_examples=50, deadline=None)
    @given(plaintext=st.binary(max_size=2000))
    def test_round_trip(self, plaintext: bytes) -> None:
        assert crypto.open_sealed(KEY, crypto.seal(KEY, plaintext, OWNER), OWNER) == plaintext

    def test_another_field_of_the_same_row_fails(self) -> None:
        sealed = crypto.seal(KEY, b"text", OWNER)
        with pytest.raises(DecryptionFailed, match="copied from another row or field"):
            crypto.open_sealed(KEY, sealed, (OWNER[0], OWNER[1], "body"))

    def test_an_unknown_version_fails(self) -> None:
        sealed = b"\x02" + crypto.seal(KEY, b"text", OWNER)[1:]
        with pytest.raises(DecryptionFailed, match="known version"):
            crypto.open_sealed(KEY, sealed, OWNER)

    def test_associated_data_parts_cannot_run_together(self) -> None:
        assert crypto.frame("ab", "c") != crypto.frame("a", "bc")


class TestKeyWrap:
    def test_round_trip(self) -> None:
        dek = crypto.new_key()
        wrapped = crypto.kek_wrap(KEY, dek, kek_id="k1", dek_id="d1")
        assert crypto.kek_unwrap(KEY, wrapped, kek_id="k1", dek_id="d1") == dek

    def test_a_wrapped_key_moved_to_another_data_key_row_fails(self) -> None:
        wrapped = crypto.kek_wrap(KEY, crypto.new_key(), kek_id="k1", dek_id="d1")
        with pytest.raises(DecryptionFailed, match="does not unwrap"):
            crypto.kek_unwrap(KEY, wrapped, kek_id="k1", dek_id="d2")
