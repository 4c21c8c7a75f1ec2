"""The retention table without a database: floors, clocks and period arithmetic."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from retention.rules import RULES, SIX_YEARS, Period, PeriodUnit, RecordKind, floor_refusal


class TestFloors:
    def test_six_years_in_days_cover_two_leap_days(self) -> None:
        assert SIX_YEARS.days == 2192

    def test_five_years_is_refused_for_scanned_authorizations(self) -> None:
        refusal = floor_refusal(RecordKind.AUTHORIZATION_SCAN, Period(5, PeriodUnit.YEARS))
        assert refusal is not None
        assert "164.530(j)" in refusal and "6 years" in refusal

    def test_2191_days_is_one_day_short(self) -> None:
        assert floor_refusal(RecordKind.AUTHORIZATION_SCAN, Period(2191, PeriodUnit.DAYS))
        assert floor_refusal(RecordKind.AUTHORIZATION_SCAN, Period(2192, PeriodUnit.DAYS)) is None

    def test_kinds_without_a_floor_take_any_period(self) -> None:
        assert floor_refusal(RecordKind.INVITATION, Period(1, PeriodUnit.DAYS)) is None

    def test_every_default_meets_its_floor(self) -> None:
        for kind, rule in RULES.items():
            assert floor_refusal(kind, rule.default) is None, kind


class TestPeriods:
    def test_years_count_calendar_years(self) -> None:
        moment = datetime(2032, 3, 1, 12, tzinfo=UTC)
        assert Period(6, PeriodUnit.YEARS).before(moment) == datetime(2026, 3, 1, 12, tzinfo=UTC)

    def test_a_leap_day_counts_back_to_the_last_day_of_february(self) -> None:
        moment = datetime(2028, 2, 29, tzinfo=UTC)
        assert Period(1, PeriodUnit.YEARS).before(moment) == datetime(2027, 2, 28, tzinfo=UTC)

    def test_it_reads_as_people_write_it(self) -> None:
        assert str(Period(1, PeriodUnit.YEARS)) == "1 year"
        assert str(Period(90, PeriodUnit.DAYS)) == "90 days"


class TestReadme:
    def test_its_table_states_every_default_and_floor(self) -> None:
        readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
        for kind, rule in RULES.items():
            row = next(
                line
                for line in readme.splitlines()
                if line.startswith(f"| {RecordKind(kind).label} |")
            )
            cells = [cell.strip() for cell in row.strip("|").split("|")]
            assert cells[1] == str(rule.default), kind
            assert (cells[3] != "none") == (rule.floor is not None), kind
