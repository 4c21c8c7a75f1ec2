from __future__ import annotations

from typing import Any

from django import forms

from audit import registry
from audit.models import Outcome
from audit.registry import Person
from audit.review import Period
from audit.selectors import EventFilters
from core.forms import FixedChoicesSelect


class EventSearchForm(forms.Form):
    """The privacy officer's search. Every field is optional: empty means "everything".

    People are typed by name (or MRN) and posted; the search itself then runs as a GET
    that carries only their ids, so a name never sits in a URL."""

    patient = forms.CharField(
        required=False, max_length=100, label="Patient", help_text="Name or MRN."
    )
    staff = forms.CharField(required=False, max_length=100, label="Staff member", help_text="Name.")
    patient_id = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)
    actor_id = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)
    # Every action code, grouped: a long list, drawn once per process (core.forms).
    action = forms.ChoiceField(required=False, widget=FixedChoicesSelect)
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
        self.fields["action"].choices = [("", "Any"), *registry.action_groups()]  # type: ignore[attr-defined]
        self.patient_choices: list[Person] = []
        self.staff_choices: list[Person] = []

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and end < start:
            self.add_error("date_to", "The end date is before the start date.")
        return cleaned

    def people_resolve(self, *, user: Any) -> bool:
        """Turn the typed names into ids (after ``is_valid``). False when a name matched
        nobody (an error on the field) or several people (``*_choices`` to pick from)."""
        people = registry.people()
        data = self.cleaned_data
        known = people.named(
            user=user, ids=[data.get("patient_id") or 0, data.get("actor_id") or 0]
        )
        resolved = True
        for field, id_field, find, choices in (
            ("patient", "patient_id", people.patients_find, self.patient_choices),
            ("staff", "actor_id", people.staff_find, self.staff_choices),
        ):
            typed = data.get(field, "").strip()
            current = known.get(data.get(id_field) or 0)
            if not typed:
                data[id_field] = None
            elif current is None or typed.lower() != current.name.lower():
                matches = find(user=user, query=typed)
                if len(matches) == 1:
                    data[id_field] = matches[0].pk
                else:
                    resolved = False
                    choices.extend(matches)
                    if not matches:
                        self.add_error(field, f"No {self.fields[field].label.lower()} matches.")  # type: ignore[union-attr]
        return resolved

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


class ReviewPeriodForm(forms.Form):
    """The activity review's period: local days, both inclusive."""

    start = forms.DateField(label="From", widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label="To", widget=forms.DateInput(attrs={"type": "date"}))

    def period(self) -> Period:
        return Period(start=self.cleaned_data["start"], end=self.cleaned_data["end"])


class ReviewRecordForm(ReviewPeriodForm):
    start = forms.DateField(widget=forms.HiddenInput)
    end = forms.DateField(widget=forms.HiddenInput)
    findings = forms.CharField(
        label="Findings",
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=(
            "What you looked into and what you concluded, or “Nothing to report”. Name people "
            "by audit event number or MRN; write no health information here."
        ),
    )
