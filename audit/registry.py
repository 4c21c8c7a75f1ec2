"""Each app declares its stable action codes (a TextChoices) and registers them here.

Codes are ``<app>.<verb>`` strings; once released a code is never renamed or reused,
so a search over six years of events means the same thing throughout.

Apps also name their target types for people ("Message", "Record request"), which the
patient's "who viewed my information" page shows instead of ``app.model`` labels.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

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


@dataclass(frozen=True)
class Person:
    """Someone named in the audit log, as the privacy officer's screens show them."""

    pk: int
    name: str
    detail: str = ""  # the patient's MRN, the staff member's role
    url: str = ""  # their page, when the viewer may open it


class People(Protocol):
    """Names for the ids in the log, and finding people by name. ``audit`` sits below
    ``accounts``, so the app that knows people (``directory``) registers one of these."""

    def named(self, *, user: Any, ids: Iterable[int]) -> dict[int, Person]: ...

    def patients_find(self, *, user: Any, query: str) -> list[Person]: ...

    def staff_find(self, *, user: Any, query: str) -> list[Person]: ...


class _Nobody:
    def named(self, *, user: Any, ids: Iterable[int]) -> dict[int, Person]:
        return {}

    def patients_find(self, *, user: Any, query: str) -> list[Person]:
        return []

    def staff_find(self, *, user: Any, query: str) -> list[Person]:
        return []


_people: list[People] = [_Nobody()]


def register_people(people: People) -> None:
    _people[0] = people


def people() -> People:
    return _people[0]


def action_groups() -> list[tuple[str, list[tuple[str, str]]]]:
    """Every action grouped by the app that records it (``<optgroup>`` per area),
    labels sorted, areas named by their app's verbose name."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for code, label in _labels.items():
        groups.setdefault(code.split(".", 1)[0], []).append((code, label))
    named = []
    for prefix, choices in groups.items():
        try:
            area = str(apps.get_app_config(prefix).verbose_name)
        except LookupError:
            area = prefix.capitalize()
        named.append((area, sorted(choices, key=lambda choice: choice[1].lower())))
    return sorted(named)


# Who is on which patient's care team: ``accounts`` knows, and registers the answer.
# Given (staff id, patient id) pairs, the pairs where the staff member is on the team.
CareTeams = Callable[[Iterable[tuple[int, int]]], set[tuple[int, int]]]


def _everyone_on_the_team(pairs: Iterable[tuple[int, int]]) -> set[tuple[int, int]]:
    return set(pairs)


_care_teams: list[CareTeams] = [_everyone_on_the_team]


def register_care_teams(on_team: CareTeams) -> None:
    _care_teams[0] = on_team


def care_teams() -> CareTeams:
    return _care_teams[0]
