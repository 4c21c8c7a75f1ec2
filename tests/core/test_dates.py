"""core.dates writes what the ``date`` template filter writes, in each language and time zone."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from django.template import Context, Template
from django.utils import timezone, translation

from core import dates

DAYS = [
    date(2026, 1, 5),
    date(2026, 3, 31),
    date(2027, 12, 1),
    datetime(2026, 5, 31, 23, 30, tzinfo=UTC),  # already 1 June in Madrid
    datetime(2026, 11, 9, 8, 5, 7, 123456, tzinfo=UTC),
]


def _filtered(value: date | datetime, form: str) -> str:
    return Template("{{ value|date:form }}").render(Context({"value": value, "form": form}))


@pytest.mark.parametrize("language", ["en", "es"])
def test_it_writes_what_the_date_filter_writes(language: str) -> None:
    with translation.override(language), timezone.override("Europe/Madrid"):
        for value in DAYS:
            assert dates.day_text(value) == _filtered(value, "j M Y")
            assert dates.day_month(value) == _filtered(value, "j M")
            assert dates.day_slash_month(value) == _filtered(value, "j/n")
            form = "c" if isinstance(value, datetime) else "Y-m-d"
            assert dates.iso(value) == _filtered(value, form)


def test_a_late_evening_in_utc_is_the_next_local_day() -> None:
    with translation.override("en"), timezone.override("Europe/Madrid"):
        assert dates.day_text(datetime(2026, 5, 31, 23, 30, tzinfo=UTC)) == "1 Jun 2026"
