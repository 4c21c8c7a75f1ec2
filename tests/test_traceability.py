"""The traceability matrix (compliance/traceability.toml) is true to the code: every
control resolves, every named test exists, every requirement the software meets has a
test, and the audit-protocol items issue 20 names are each proven by at least one."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from support.traceability import (
    matrix_load,
    matrix_problems,
    node_problem,
    proven_sections,
    reference_problem,
    requirement_problems,
)

# The protocol items an auditor asks about first: each needs a software test.
SECTIONS_PROVEN = [
    "164.312(a)",
    "164.312(b)",
    "164.312(c)",
    "164.312(d)",
    "164.312(e)",
    "164.308(a)(1)(ii)(D)",
    "164.308(a)(5)(ii)(C)",
    "164.316(b)",
    "164.524",
    "164.528",
    "164.508",
    "164.530(j)",
]


@pytest.fixture(scope="module")
def matrix() -> dict[str, Any]:
    return matrix_load()


@pytest.fixture
def entry() -> dict[str, Any]:
    return {
        "id": "SR-164.312(b)",
        "section": "164.312(b)",
        "rule": "Security",
        "title": "Audit controls",
        "inquiry": "Is activity recorded?",
        "met_by": "software",
        "controls": ["audit.services.event_record"],
        "tests": ["tests/audit/test_append_only.py::TestAppendOnly::test_update_is_refused"],
    }


def test_the_matrix_has_no_problem(matrix: dict[str, Any]) -> None:
    problems = matrix_problems(matrix)
    assert not problems, "\n".join(problems)


def test_its_header_names_the_protocol(matrix: dict[str, Any]) -> None:
    assert matrix["matrix"]["protocol"] == "HHS OCR HIPAA Audit Protocol (2016, updated July 2018)"


@pytest.mark.parametrize("section", SECTIONS_PROVEN)
def test_each_named_section_is_proven_by_a_software_test(
    matrix: dict[str, Any], section: str
) -> None:
    protocol = {
        **matrix,
        "requirement": [r for r in matrix["requirement"] if r["rule"] != "Practice"],
    }
    assert any(s.startswith(section) for s in proven_sections(protocol)), section


def test_organisation_items_are_listed_not_dropped(matrix: dict[str, Any]) -> None:
    organisation = {r["section"] for r in matrix["requirement"] if r["met_by"] == "organisation"}
    assert {"164.308(a)(6)(ii)", "164.310(a)(1)", "164.404"} <= organisation


class TestTheCheckerCatches:
    def test_a_sound_entry_passes(self, entry: dict[str, Any]) -> None:
        assert requirement_problems(entry) == []

    def test_a_control_that_does_not_resolve(self, entry: dict[str, Any]) -> None:
        entry["controls"] = ["audit.services.event_recorded"]
        assert requirement_problems(entry) == [
            "SR-164.312(b): 'audit.services.event_recorded': 'event_recorded' not found"
        ]

    def test_a_module_that_does_not_exist(self) -> None:
        assert reference_problem("nowhere.at_all") == "'nowhere.at_all': no module 'nowhere'"

    def test_a_setting_is_not_a_control(self) -> None:
        problem = reference_problem("config.settings.SESSION_IDLE_TIMEOUT")
        assert problem and "is a int, not a module, class or function" in problem

    def test_a_test_that_does_not_exist(self, entry: dict[str, Any]) -> None:
        entry["tests"] = ["tests/audit/test_append_only.py::TestAppendOnly::test_it_is_gone"]
        (problem,) = requirement_problems(entry)
        assert problem.startswith("SR-164.312(b): ")
        assert "no test function test_it_is_gone" in problem

    def test_a_class_or_file_that_does_not_exist(self) -> None:
        assert "no class TestNobody" in str(
            node_problem("tests/audit/test_append_only.py::TestNobody::test_update_is_refused")
        )
        assert "no file tests/audit/test_gone.py" in str(
            node_problem("tests/audit/test_gone.py::test_anything")
        )

    def test_software_without_a_test(self, entry: dict[str, Any]) -> None:
        entry["tests"] = []
        assert requirement_problems(entry) == [
            "SR-164.312(b): met_by software needs at least one test"
        ]

    def test_the_organisations_part_is_required(self, entry: dict[str, Any]) -> None:
        entry["met_by"] = "both"
        assert requirement_problems(entry) == [
            "SR-164.312(b): met_by both needs the organisation's part"
        ]

    def test_an_organisation_item_needs_no_control(self) -> None:
        item = {
            "id": "SR-164.310(b)",
            "section": "164.310(b)",
            "rule": "Security",
            "title": "Workstation use",
            "inquiry": "Are there rules?",
            "met_by": "organisation",
            "organisation": "Write them.",
        }
        assert requirement_problems(item) == []

    def test_a_duplicate_id(self, matrix: dict[str, Any]) -> None:
        twice = copy.deepcopy(matrix)
        twice["requirement"].append(copy.deepcopy(twice["requirement"][0]))
        identifier = twice["requirement"][0]["id"]
        assert matrix_problems(twice) == [f"{identifier}: id used twice"]

    def test_a_missing_field_and_a_stray_one(self, entry: dict[str, Any]) -> None:
        del entry["inquiry"]
        entry["control"] = entry.pop("controls")
        assert requirement_problems(entry) == [
            "SR-164.312(b): inquiry is missing",
            "SR-164.312(b): unknown fields ['control']",
            "SR-164.312(b): met_by software needs at least one control",
        ]

    def test_a_wrong_rule_and_an_id_that_does_not_match_its_section(
        self, entry: dict[str, Any]
    ) -> None:
        assert requirement_problems({**entry, "rule": "Safety"}) == [
            "SR-164.312(b): rule 'Safety' is not one of "
            "['Breach', 'Practice', 'Privacy', 'Security']"
        ]
        assert requirement_problems({**entry, "section": "164.312(c)(1)"}) == [
            "SR-164.312(b): id should start with 'SR-164.312(c)(1)'"
        ]

    def test_malformed_references(self) -> None:
        assert "is not a dotted name" in str(reference_problem("audit..models"))
        assert "is not tests/<path>.py::[Class::]test_name" in str(
            node_problem("audit/test_chain.py::test_x")
        )
