"""Each app declares its stable action codes (a TextChoices) and registers them here.

Codes are ``<app>.<verb>`` strings; once released a code is never renamed or reused,
so a search over six years of events means the same thing throughout.
"""

from __future__ import annotations

from django.db import models

_labels: dict[str, str] = {}


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
