from __future__ import annotations

import json

import pytest

from audit import chain

ROW = (
    "audit.searched", 7, "user", "Ann (Clinician)", "clinician", '{"b": 2, "a": [1, "x"]}',
    41, "10.0.0.1", "2025-03-01T12:00:00.000001Z", "success", 9, "req", "5", "x.y", "UA",
)  # fmt: skip


class TestCanonical:
    def test_it_does_not_depend_on_the_key_order_of_details(self) -> None:
        reordered = (*ROW[:5], '{"a":[1,"x"],"b":2}', *ROW[6:])
        assert chain.canonical(ROW) == chain.canonical(reordered)

    def test_it_starts_with_the_format_tag_and_sorted_fields(self) -> None:
        text = chain.canonical(ROW).decode()
        assert text.startswith('["audit-event/1","audit.searched",7,"user"')
        assert '{"a":[1,"x"],"b":2}' in text

    def test_every_field_changes_the_seal(self) -> None:
        key = chain.derive_key("k").secret
        original = chain.seal_hash(key, 40, chain.GENESIS, chain.canonical(ROW))
        for index in range(len(ROW)):
            changed = list(ROW)
            changed[index] = '{"c": 1}' if index == chain.DETAILS_INDEX else "other"
            assert chain.seal_hash(key, 40, chain.GENESIS, chain.canonical(changed)) != original


class TestKeyring:
    def test_a_retired_key_is_found_by_its_id(self) -> None:
        old = chain.derive_key("old secret")
        ring = chain.Keyring("new secret", ["old secret"])
        assert ring.get(old.key_id) == old
        assert ring.current.key_id != old.key_id

    def test_the_key_id_does_not_reveal_the_key(self) -> None:
        key = chain.derive_key("secret")
        assert key.key_id not in key.secret.hex()


class TestEncoder:
    def test_the_fast_path_writes_what_the_json_module_writes(self) -> None:
        value = ['é ☃ \n "q"', {"b": [1.5, None, True], "a": {"z": 1, "y": "ü"}}, -3]
        expected = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        assert chain._encode(value) == expected

    def test_it_refuses_values_without_a_canonical_form(self) -> None:
        with pytest.raises((TypeError, ValueError)):
            chain._encode([float("nan")])
        with pytest.raises(TypeError):
            chain._encode([object()])
