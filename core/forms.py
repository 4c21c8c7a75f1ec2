"""Forms several apps' screens share."""

from __future__ import annotations

from typing import Any

from django import forms


class AssignForm(forms.Form):
    """Assign a thread or a request to one of ``choices`` (id, name), or to nobody."""

    assignee = forms.TypedChoiceField(
        label="Assign to", coerce=int, required=False, empty_value=None
    )

    def __init__(self, *args: Any, choices: list[tuple[Any, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["assignee"]
        assert isinstance(field, forms.TypedChoiceField)
        field.choices = [("", "Nobody"), *choices]
