from __future__ import annotations

from datetime import date
from typing import Any

from django import forms
from django.utils import timezone

from evidence.figures import MAX_PERIOD_DAYS, Period


class PackForm(forms.Form):
    """The period of an evidence pack: whole days, at most a year, none in the future."""

    date_from = forms.DateField(label="From", widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(
        label="To (inclusive)", widget=forms.DateInput(attrs={"type": "date"})
    )

    @classmethod
    def for_query(cls, query: Any) -> PackForm:
        """Bound to the query, the last 30 days filling what it leaves out."""
        default = Period.last_days()
        data = {"date_from": default.first_day.isoformat(), "date_to": default.last_day.isoformat()}
        data.update({k: query[k] for k in ("date_from", "date_to") if query.get(k)})
        return cls(data)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        start: date | None = cleaned.get("date_from")
        end: date | None = cleaned.get("date_to")
        if start is None or end is None:
            return cleaned
        if end < start:
            self.add_error("date_to", "The end date is before the start date.")
        elif end > timezone.localdate():
            self.add_error("date_to", "The period cannot end in the future.")
        elif (end - start).days + 1 > MAX_PERIOD_DAYS:
            self.add_error("date_from", f"One pack covers at most {MAX_PERIOD_DAYS} days.")
        return cleaned

    def period(self) -> Period:
        return Period(self.cleaned_data["date_from"], self.cleaned_data["date_to"])
