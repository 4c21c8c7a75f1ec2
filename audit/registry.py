"""Each app declares its stable action codes (a TextChoices) and registers them here.

Codes are ``<app>.<verb>`` strings; once released a code is never renamed or reused,
so a search over six years of events means the same thing throughout.

Apps also name their target types for people ("Message", "Record request"), which the
patient's "who viewed my information" page shows instead of ``app.model`` labels.
"""

from __future__ import annotations

from collections.abc import Mapping

from django.apps import apps
from django.db import models

_labels: dict[str, str] = {}
_target_labels: dict[str, str] = {}


def register(choices: type[models.TextChoices]) -> None:
    for value, label in choices.choices:
        existing = _labels.get(value)
        if existing is not None and existing != label:
            raise ValueError(f"audit action {value!r} registered twice with different labels")
        _labels[value] = str(label)


def label_for(code: str) -> str:
    return _labels.get(code, code)


def is_registered(code: str) -> bool:
    return code in _labels


def all_actions() -> list[tuple[str, str]]:
    return sorted(_labels.items())


def register_target_types(labels: Mapping[str, str]) -> None:
    """``{"messages.message": "Message"}``: the friendly name of each ``target_type``."""
    _target_labels.update(labels)


def target_label_for(target_type: str) -> str:
    """A friendly name; an unregistered model falls back to its verbose name."""
    if target_type in _target_labels:
        return _target_labels[target_type]
    try:
        model = apps.get_model(target_type)
    except (LookupError, ValueError):
        return "Record"
    return str(model._meta.verbose_name).capitalize()
