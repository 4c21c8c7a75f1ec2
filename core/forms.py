"""Forms several apps' screens share."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from django import forms
from django.core.files.uploadedfile import UploadedFile
from django.forms.renderers import BaseRenderer
from django.http import HttpRequest, QueryDict
from django.utils.datastructures import MultiValueDict
from django.utils.safestring import SafeString
from django.utils.translation import get_language


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


class FixedChoicesSelect(forms.Select):
    """A select drawn once per process for each name, value, attributes and language.

    For a long list that does not change while the process runs (the audit search's
    every action code): drawing its options through the widget templates, one template
    per option, was most of that page's time. The choices are part of the key, so a
    list that did change would still be drawn afresh."""

    def render(
        self,
        name: str,
        value: Any,
        attrs: dict[str, Any] | None = None,
        renderer: BaseRenderer | None = None,
    ) -> SafeString:
        key = (
            name,
            repr(value),
            repr(sorted({**self.attrs, **(attrs or {})}.items())),
            get_language(),
            _frozen(self.choices),
        )
        drawn = _DRAWN.get(key)
        if drawn is None:
            drawn = super().render(name, value, attrs, renderer)
            if len(_DRAWN) >= _DRAWN_KEPT:
                _DRAWN.clear()
            _DRAWN[key] = drawn
        return drawn


_DRAWN: dict[Hashable, SafeString] = {}
_DRAWN_KEPT = 256


def _frozen(choices: Any) -> Hashable:
    return tuple(
        (str(v), _frozen(label) if isinstance(label, list | tuple) else str(label))
        for v, label in choices
    )


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
