"""Forms several apps' screens share."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from django import forms
from django.core.files.uploadedfile import UploadedFile
from django.forms.renderers import BaseRenderer
from django.http import HttpRequest, QueryDict
from django.utils.datastructures import MultiValueDict
from django.utils.functional import Promise
from django.utils.safestring import SafeString
from django.utils.translation import get_language


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


class FixedChoicesCheckboxes(forms.CheckboxSelectMultiple):
    """Boxes drawn once per process for each box, ticked or not, attributes and language.

    The staff thread page draws its reply form's sensitive-content boxes on every view,
    one widget template per box: most of that form's time. A drawing holds only what the
    name, the fixed choices, the ticks (codes, never typed text) and the attributes give,
    and all of those are its key. ``_render`` is the one method both the whole widget and
    each box (``BoundWidget.tag``, as ``components/field.html`` draws them) go through."""

    def _render(
        self, template_name: str, context: dict[str, Any], renderer: BaseRenderer | None = None
    ) -> SafeString:
        key = (template_name, _frozen_context(context), get_language())
        drawn = _DRAWN.get(key)
        if drawn is None:
            drawn = super()._render(template_name, context, renderer)  # type: ignore[misc]
            if len(_DRAWN) >= _DRAWN_KEPT:
                _DRAWN.clear()
            _DRAWN[key] = drawn
        return drawn


def _frozen_context(value: Any) -> Hashable:
    if isinstance(value, dict):
        return tuple(sorted((str(k), _frozen_context(v)) for k, v in value.items()))
    if isinstance(value, list | tuple):
        return tuple(_frozen_context(v) for v in value)
    if isinstance(value, Promise):
        return str(value)
    return repr(value)


_DRAWN: dict[Hashable, SafeString] = {}
_DRAWN_KEPT = 256


def _frozen(choices: Any) -> Hashable:
    return tuple(
        (str(v), _frozen(label) if isinstance(label, list | tuple) else str(label))
        for v, label in choices
    )


class AssignForm(forms.Form):
    """Assign a thread or a request to one of ``choices`` (id, name), or to nobody."""

    assignee = forms.TypedChoiceField(
        label="Assign to",
        coerce=int,
        required=False,
        empty_value=None,
        widget=FixedChoicesSelect,  # the same team's menu on every view of their threads
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
