"""The select drawn once per process (core.forms.FixedChoicesSelect) draws what Django's
own select draws, for each value, attribute set and list of choices."""

from __future__ import annotations

from typing import Any

from django import forms

from core.forms import FixedChoicesSelect

CHOICES: list[Any] = [
    ("", "Any"),
    ("Messages", [("m.sent", "Message sent"), ("m.read", "Message read")]),
]


def _pair(choices: list[Any]) -> tuple[forms.Select, FixedChoicesSelect]:
    return forms.Select(choices=choices), FixedChoicesSelect(choices=choices)


def test_it_draws_what_the_plain_select_draws_for_each_value() -> None:
    plain, fixed = _pair(CHOICES)
    for value in ("", "m.sent", "m.read", "m.sent"):
        attrs = {"id": "id_action"}
        assert fixed.render("action", value, attrs) == plain.render("action", value, attrs)
    drawn = fixed.render("action", "m.read", {"id": "id_action"})
    assert '<option value="m.read" selected>' in drawn
    assert '<option value="m.sent" selected>' not in drawn


def test_other_attributes_or_choices_are_drawn_afresh() -> None:
    _, fixed = _pair(CHOICES)
    first = fixed.render("action", "", {"id": "id_action"})
    invalid = fixed.render("action", "", {"id": "id_action", "aria-invalid": "true"})
    assert 'aria-invalid="true"' in invalid and 'aria-invalid="true"' not in first
    _, longer = _pair([*CHOICES, ("x.new", "A new action")])
    assert "A new action" in longer.render("action", "", {"id": "id_action"})
