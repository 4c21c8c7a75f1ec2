"""Deadline arithmetic: local calendar days, across month ends and DST changes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from records import deadlines

NEW_YORK = "America/New_York"


@pytest.fixture
def new_york(settings: Any) -> Iterator[ZoneInfo]:
    settings.TIME_ZONE = NEW_YORK
    timezone.activate(ZoneInfo(NEW_YORK))
    yield ZoneInfo(NEW_YORK)
    timezone.deactivate()


def at(
    zone: ZoneInfo, year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=zone)


class TestDueDate:
    def test_it_is_due_at_the_end_of_the_thirtieth_day(self, new_york: ZoneInfo) -> None:
        due = deadlines.due_at_for(at(new_york, 2026, 4, 1, 9, 30))
        assert deadlines.due_day(due) == date(2026, 5, 1)
        assert due == at(new_york, 2026, 5, 2, 0, 0)

    def test_a_request_late_in_the_evening_counts_from_its_local_day(
        self, new_york: ZoneInfo
    ) -> None:
        # 23:30 in New York is already the next day in UTC; the local day counts.
        due = deadlines.due_at_for(at(new_york, 2026, 4, 1, 23, 30))
        assert deadlines.due_day(due) == date(2026, 5, 1)

    def test_across_a_month_end(self, new_york: ZoneInfo) -> None:
        due = deadlines.due_at_for(at(new_york, 2026, 1, 31, 12, 0))
        assert deadlines.due_day(due) == date(2026, 3, 2)  # February has 28 days in 2026

    def test_across_a_leap_february(self, new_york: ZoneInfo) -> None:
        due = deadlines.due_at_for(at(new_york, 2028, 2, 15, 12, 0))
        assert deadlines.due_day(due) == date(2028, 3, 16)

    def test_across_the_spring_dst_change_it_is_still_local_midnight(
        self, new_york: ZoneInfo
    ) -> None:
        due = deadlines.due_at_for(at(new_york, 2026, 2, 20, 10, 0))  # DST starts 8 March
        local = due.astimezone(new_york)
        assert (local.date(), local.hour, local.minute) == (date(2026, 3, 23), 0, 0)
        assert local.utcoffset().total_seconds() == -4 * 3600  # type: ignore[union-attr]

    def test_across_the_autumn_dst_change_it_is_still_local_midnight(
        self, new_york: ZoneInfo
    ) -> None:
        due = deadlines.due_at_for(at(new_york, 2026, 10, 20, 10, 0))  # DST ends 1 November
        local = due.astimezone(new_york)
        assert (local.date(), local.hour) == (date(2026, 11, 20), 0)
        assert local.utcoffset().total_seconds() == -5 * 3600  # type: ignore[union-attr]

    def test_the_last_second_of_the_due_day_is_on_time(self, new_york: ZoneInfo) -> None:
        due = deadlines.due_at_for(at(new_york, 2026, 4, 1, 9, 0))
        assert deadlines.days_left(due, at(new_york, 2026, 5, 1, 23, 59, 59)) == 0
        assert deadlines.days_left(due, due) == -1


class TestDaysLeft:
    def test_it_counts_local_days(self, new_york: ZoneInfo) -> None:
        due = deadlines.due_at_for(at(new_york, 2026, 4, 1, 9, 0))
        assert deadlines.days_left(due, at(new_york, 2026, 4, 1, 9, 0)) == 30
        assert deadlines.days_left(due, at(new_york, 2026, 4, 24, 23, 0)) == 7

    def test_the_latest_extension_is_thirty_days_after_the_due_day(
        self, new_york: ZoneInfo
    ) -> None:
        due = deadlines.due_at_for(at(new_york, 2026, 4, 1, 9, 0))
        assert deadlines.latest_extension_day(due) == date(2026, 5, 31)
