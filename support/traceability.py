"""The traceability matrix: each audit-protocol requirement, the code that meets it, the
tests that prove it (``compliance/traceability.toml``).

Plain functions so the suite and the evidence pack read the matrix the same way. A
control is a dotted name of a module, class or function, resolved with importlib (the
caller sets Django up first, so models import); a test is a pytest node id, found by
parsing its file, never by importing it. Every problem names the requirement's id.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
MATRIX_PATH = ROOT / "compliance" / "traceability.toml"

RULES = {"Security": "SR", "Privacy": "PR", "Breach": "BN", "Practice": "FP"}
MET_BY = ("software", "organisation", "both")
REQUIRED = ("id", "section", "rule", "title", "inquiry", "met_by")
OPTIONAL = ("controls", "tests", "organisation", "notes")
HEADER = ("title", "protocol", "as_of")


def matrix_load(path: Path = MATRIX_PATH) -> dict[str, Any]:
    with path.open("rb") as handle:
        return tomllib.load(handle)


def reference_problem(dotted: str) -> str | None:
    """Why ``dotted`` names no module, class or function, or None when it does."""
    parts = dotted.split(".")
    if not all(part.isidentifier() for part in parts):
        return f"{dotted!r} is not a dotted name"
    target: Any = None
    for cut in range(len(parts), 0, -1):
        name = ".".join(parts[:cut])
        try:
            target = importlib.import_module(name)
        except ModuleNotFoundError as error:
            # Only "this prefix is no module" moves on; a module that exists but fails
            # to import its own dependencies is a real problem to report.
            if error.name is None or not name.startswith(error.name):
                return f"{dotted!r}: importing {name} failed: {error}"
            continue
        break
    else:
        return f"{dotted!r}: no module {parts[0]!r}"
    for attribute in parts[cut:]:
        try:
            target = getattr(target, attribute)
        except AttributeError:
            return f"{dotted!r}: {attribute!r} not found"
    if not (inspect.ismodule(target) or inspect.isclass(target) or callable(target)):
        return f"{dotted!r} is a {type(target).__name__}, not a module, class or function"
    return None


def _defined(body: list[ast.stmt], name: str) -> ast.AST | None:
    kinds = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    return next((n for n in body if isinstance(n, kinds) and n.name == name), None)


def node_problem(node: str, root: Path = ROOT) -> str | None:
    """Why the pytest node id ``node`` names no test in the tree at ``root``."""
    file, _, rest = node.partition("::")
    names = rest.split("::") if rest else []
    if not file.startswith("tests/") or not file.endswith(".py") or not 1 <= len(names) <= 2:
        return f"{node!r} is not tests/<path>.py::[Class::]test_name"
    path = root / file
    if not path.is_file():
        return f"{node!r}: no file {file}"
    module = ast.parse(path.read_text(encoding="utf-8"), filename=file)
    body = module.body
    if len(names) == 2:
        cls = _defined(body, names[0])
        if not isinstance(cls, ast.ClassDef):
            return f"{node!r}: no class {names[0]} in {file}"
        body = list(cls.body)
        # A test inherited from a base class of the same module is still this class's.
        for base in cls.bases:
            parent = _defined(module.body, base.id) if isinstance(base, ast.Name) else None
            if isinstance(parent, ast.ClassDef):
                body += parent.body
    function = _defined(body, names[-1])
    if not names[-1].startswith("test") or not isinstance(
        function, ast.FunctionDef | ast.AsyncFunctionDef
    ):
        return f"{node!r}: no test function {names[-1]} in {file}"
    return None


def requirement_problems(requirement: dict[str, Any], root: Path = ROOT) -> list[str]:
    """What is wrong with one requirement, each line starting with its id."""
    label = str(requirement.get("id", "<no id>"))
    problems = [f"{field} is missing" for field in REQUIRED if not requirement.get(field)]
    unknown = sorted(set(requirement) - set(REQUIRED) - set(OPTIONAL))
    if unknown:
        problems.append(f"unknown fields {unknown}")
    rule, met_by = requirement.get("rule"), requirement.get("met_by")
    if rule and rule not in RULES:
        problems.append(f"rule {rule!r} is not one of {sorted(RULES)}")
    elif rule and requirement.get("id") and requirement.get("section"):
        prefix = (
            f"{RULES[rule]}-" if rule == "Practice" else f"{RULES[rule]}-{requirement['section']}"
        )
        if not label.startswith(prefix):
            problems.append(f"id should start with {prefix!r}")
    if met_by and met_by not in MET_BY:
        problems.append(f"met_by {met_by!r} is not one of {list(MET_BY)}")
    controls = requirement.get("controls", [])
    tests = requirement.get("tests", [])
    if met_by in ("software", "both"):
        if not controls:
            problems.append(f"met_by {met_by} needs at least one control")
        if not tests:
            problems.append(f"met_by {met_by} needs at least one test")
    if met_by in ("organisation", "both") and not str(requirement.get("organisation", "")).strip():
        problems.append(f"met_by {met_by} needs the organisation's part")
    if met_by == "software" and requirement.get("organisation"):
        problems.append("met_by software has an organisation part: make it both")
    problems += [p for c in controls if (p := reference_problem(c))]
    problems += [p for t in tests if (p := node_problem(t, root))]
    for field, values in (("controls", controls), ("tests", tests)):
        if len(set(values)) != len(values):
            problems.append(f"{field} names an entry twice")
    return [f"{label}: {problem}" for problem in problems]


def matrix_problems(matrix: dict[str, Any], root: Path = ROOT) -> list[str]:
    """Every problem of the whole matrix: header, unique ids, each requirement."""
    header = matrix.get("matrix", {})
    problems = [f"header: {field} is missing" for field in HEADER if not header.get(field)]
    requirements = matrix.get("requirement", [])
    if not requirements:
        problems.append("no requirement")
    seen: set[str] = set()
    for requirement in requirements:
        identifier = requirement.get("id")
        if identifier in seen:
            problems.append(f"{identifier}: id used twice")
        seen.add(identifier)
        problems += requirement_problems(requirement, root)
    return problems


def proven_sections(matrix: dict[str, Any]) -> list[str]:
    """Sections of requirements the software meets with at least one test."""
    return [
        r["section"]
        for r in matrix.get("requirement", [])
        if r.get("met_by") in ("software", "both") and r.get("tests")
    ]
