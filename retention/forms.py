from __future__ import annotations

from typing import Any, cast

from django import forms

from accounts.models import Actor
from messaging.models import Thread
from records.models import RecordRequest
from retention.models import HoldScope
from retention.rules import RULES, ClockStart, Period, PeriodUnit, floor_refusal


class PolicyForm(forms.Form):
    clock_start = forms.ChoiceField(label="The clock starts when the record is", choices=())
    amount = forms.IntegerField(label="Keep for", min_value=1, max_value=100_000)
    unit = forms.ChoiceField(label="Unit", choices=PeriodUnit.choices)

    def __init__(self, *args: Any, kind: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.kind = kind
        rule = RULES[kind]
        cast(forms.ChoiceField, self.fields["clock_start"]).choices = [
            (c, ClockStart(c).label) for c in rule.clocks
        ]
        self.fields["clock_start"].help_text = f"Counted from {rule.clock_help}."
        if rule.floor is not None:
            floor = rule.floor
            self.fields[
                "amount"
            ].help_text = f"At least {floor.period} ({floor.days} days): {floor.rule}."

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if "amount" in data and "unit" in data:
            problem = floor_refusal(self.kind, Period(data["amount"], data["unit"]))
            if problem:
                self.add_error("amount", problem)
        return data


class HoldForm(forms.Form):
    scope = forms.ChoiceField(label="Hold", choices=HoldScope.choices, widget=forms.RadioSelect)
    mrn = forms.CharField(
        label="Patient's MRN", max_length=32, help_text="For every scope: whose records."
    )
    reference = forms.UUIDField(
        label="Thread or request reference",
        required=False,
        help_text="For one thread or one request: the reference at the end of its page's address.",
    )
    reason = forms.CharField(
        label="Reason", max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )
    ends_on = forms.DateField(
        label="Ends on (optional)",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Leave empty to hold until released.",
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        scope, reference = data.get("scope"), data.get("reference")
        if scope in (HoldScope.THREAD, HoldScope.REQUEST) and reference is None:
            self.add_error("reference", "Give the reference of the thread or request to hold.")
        return data

    def target(self, patient: Actor) -> dict[str, Any]:
        """The thread or request the reference names, of this patient; {} for a patient hold."""
        scope, reference = self.cleaned_data["scope"], self.cleaned_data.get("reference")
        if reference is None:
            return {}
        if scope == HoldScope.THREAD:
            thread = Thread.objects.filter(pk=reference, patient=patient).first()
            if thread is None:
                self.add_error("reference", "This patient has no thread with that reference.")
            return {"thread": thread}
        if scope == HoldScope.REQUEST:
            request = RecordRequest.objects.filter(pk=reference, patient=patient).first()
            if request is None:
                self.add_error(
                    "reference", "This patient has no record request with that reference."
                )
            return {"request": request}
        return {}
