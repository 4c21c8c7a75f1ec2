"""The subject-line guard: identifiers that must not sit in a subject line.

A subject travels further than a body (inbox lists, notifications someone may add
later, screenshots), so it is checked before send. Each pattern is configured to
``warn`` (the sender confirms) or ``block``; SSN-like numbers block by default.
No Django here: the rules are plain functions with their own fast tests.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

WARN, BLOCK = "warn", "block"

PATTERNS: dict[str, tuple[re.Pattern[str], str]] = {
    "ssn": (
        re.compile(r"(?<!\d)\d{3}[- ]?\d{2}[- ]?\d{4}(?!\d)"),
        "looks like a Social Security number",
    ),
    "mrn": (
        re.compile(r"\bMRN\b|\bmedical record (?:number|no)\b", re.I),
        "names a medical record number",
    ),
    "dob": (
        re.compile(
            r"(?<!\d)(?:\d{1,2}[/.-]\d{1,2}[/.-](?:\d{4}|\d{2})|\d{4}-\d{2}-\d{2})(?!\d)"
            r"|\b(?:DOB|date of birth|born)\b",
            re.I,
        ),
        "looks like a date of birth",
    ),
    "phone": (
        re.compile(r"(?<!\d)(?:\+?1[ .-]?)?\(?\d{3}\)?[ .-]?\d{3}[ .-]?\d{4}(?!\d)"),
        "looks like a phone number",
    ),
}
DEFAULT_RULES: dict[str, str] = {"ssn": BLOCK, "mrn": WARN, "dob": WARN, "phone": WARN}


@dataclass(frozen=True)
class Finding:
    pattern: str
    action: str
    reason: str


def subject_check(
    subject: str, *, rules: Mapping[str, str], known_identifiers: Iterable[str] = ()
) -> list[Finding]:
    """Every rule the subject trips, blocks first. ``known_identifiers`` are the patient's
    own MRN and the like, matched literally (case-insensitive) under the ``mrn`` rule."""
    findings: list[Finding] = []
    for name, action in rules.items():
        pattern, reason = PATTERNS[name]
        hit = bool(pattern.search(subject))
        if name == "mrn" and not hit:
            lowered = subject.lower()
            hit = any(ident and ident.lower() in lowered for ident in known_identifiers)
        if hit:
            findings.append(Finding(name, action, f"The subject {reason}."))
    return sorted(findings, key=lambda f: f.action != BLOCK)


def rules_parse(spec: str) -> dict[str, str]:
    """``"ssn:block,phone:warn"`` over the defaults; unknown names or actions raise ValueError."""
    rules = dict(DEFAULT_RULES)
    for item in filter(None, (part.strip() for part in spec.split(","))):
        name, _, action = item.partition(":")
        name, action = name.strip().lower(), action.strip().lower()
        if name not in PATTERNS or action not in (WARN, BLOCK, "off"):
            raise ValueError(
                f"unknown subject rule {item!r}: use <{'|'.join(PATTERNS)}>:<warn|block|off>"
            )
        if action == "off":
            rules.pop(name, None)
        else:
            rules[name] = action
    return rules
