from __future__ import annotations

from typing import Any

from django import forms

from audit import registry
from audit.models import Outcome
from audit.selectors import EventFilters


class EventSearchForm(forms.Form):
    """The privacy officer's search. Every field is optional: empty means "everything"."""

    patient_id = forms.IntegerField(required=False, min_value=1, label="Patient id")
    actor_id = forms.IntegerField(required=False, min_value=1, label="Actor id")
    action = forms.ChoiceField(required=False)
    outcome = forms.ChoiceField(required=False, choices=[("", "Any"), *Outcome.choices])
    date_from = forms.DateField(
        required=False, label="From", widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        required=False, label="To (inclusive)", widget=forms.DateInput(attrs={"type": "date"})
    )
    before = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Read at form creation: apps register their codes in ready(), after import.
        self.fields["action"].choices = [("", "Any"), *registry.all_actions()]  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and end < start:
            self.add_error("date_to", "The end date is before the start date.")
        return cleaned

    def filters(self) -> EventFilters:
        data = self.cleaned_data
        return EventFilters(
            patient_id=data.get("patient_id"),
            actor_id=data.get("actor_id"),
            action=data.get("action") or "",
            outcome=data.get("outcome") or "",
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
        )
