"""The subject-line guard (no Django needed)."""

from __future__ import annotations

import pytest

from messaging.dlp import BLOCK, DEFAULT_RULES, WARN, rules_parse, subject_check


def patterns(subject: str, **kwargs: object) -> list[tuple[str, str]]:
    found = subject_check(subject, rules=DEFAULT_RULES, **kwargs)  # type: ignore[arg-type]
    return [(f.pattern, f.action) for f in found]


@pytest.mark.parametrize("subject", ["SSN 123-45-6789", "ssn 123 45 6789", "id 123456789"])
def test_ssn_like_numbers_block(subject: str) -> None:
    assert patterns(subject) == [("ssn", BLOCK)]


@pytest.mark.parametrize(
    ("subject", "pattern"),
    [
        ("Call me at (555) 123-4567", "phone"),
        ("Born 04/07/1962", "dob"),
        ("Labs for 1962-07-04", "dob"),
        ("Your MRN", "mrn"),
    ],
)
def test_other_identifiers_warn(subject: str, pattern: str) -> None:
    assert (pattern, WARN) in patterns(subject)


def test_the_patients_own_mrn_is_caught_literally() -> None:
    assert ("mrn", WARN) in patterns("About ab-555001", known_identifiers=["AB-555001"])


def test_an_ordinary_subject_passes() -> None:
    assert patterns("Your appointment next week") == []


def test_blocks_come_before_warnings() -> None:
    assert patterns("123-45-6789 and (555) 123-4567")[0] == ("ssn", BLOCK)


def test_rules_can_be_tightened_or_switched_off() -> None:
    rules = rules_parse("phone:block, dob:off")
    assert rules["phone"] == BLOCK and "dob" not in rules and rules["ssn"] == BLOCK


def test_an_unknown_rule_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="zip:block"):
        rules_parse("zip:block")
