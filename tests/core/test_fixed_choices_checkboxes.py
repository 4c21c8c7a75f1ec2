"""The boxes drawn once per process (core.forms.FixedChoicesCheckboxes) draw what Django's own
boxes draw, whole or box by box, for each set of ticks and attributes."""

from __future__ import annotations

from typing import Any

from django import forms

from core.forms import FixedChoicesCheckboxes

CHOICES: list[Any] = [("hiv_sti", "HIV results"), ("genetic", "Genetic test results")]


class Plain(forms.Form):
    kinds = forms.MultipleChoiceField(
        choices=CHOICES, required=False, widget=forms.CheckboxSelectMultiple
    )


class Fixed(forms.Form):
    kinds = forms.MultipleChoiceField(
        choices=CHOICES, required=False, widget=FixedChoicesCheckboxes
    )


def _boxes(form: forms.Form) -> list[str]:
    return [str(box.tag()) for box in form["kinds"]]


def test_each_box_is_what_the_plain_box_is_for_each_set_of_ticks() -> None:
    for ticks in ([], ["genetic"], ["hiv_sti", "genetic"], ["genetic"]):
        data = {"kinds": ticks}
        assert _boxes(Fixed(data)) == _boxes(Plain(data))
        assert str(Fixed(data)["kinds"]) == str(Plain(data)["kinds"])
    ticked = _boxes(Fixed({"kinds": ["genetic"]}))
    assert "checked" in ticked[1] and "checked" not in ticked[0]


def test_other_attributes_are_drawn_afresh() -> None:
    first = str(Fixed()["kinds"].as_widget(attrs={"id": "id_kinds"}))
    invalid = str(Fixed()["kinds"].as_widget(attrs={"id": "id_kinds", "aria-invalid": "true"}))
    assert 'aria-invalid="true"' in invalid and 'aria-invalid="true"' not in first
