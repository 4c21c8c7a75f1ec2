"""Forms several apps' screens share."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.files.uploadedfile import UploadedFile
from django.http import HttpRequest, QueryDict
from django.utils.datastructures import MultiValueDict


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


class ConfirmForm(forms.Form):
    """The box ticked before an action that cannot be undone (recall, release). The view does
    nothing without it, so a stray click or a replayed POST changes nothing."""

    confirm = forms.BooleanField(error_messages={"required": "Tick the box to confirm."})


def confirmed(request: HttpRequest) -> bool:
    return ConfirmForm(request.POST).is_valid()


def posted(request: HttpRequest) -> QueryDict | None:
    """The form data to bind: the POST, even an empty one (``request.POST or None`` leaves a
    form unbound on an empty POST, and code that then reads ``cleaned_data`` breaks)."""
    return request.POST if request.method == "POST" else None


def posted_files(request: HttpRequest) -> MultiValueDict[str, UploadedFile] | None:
    return request.FILES if request.method == "POST" else None
