"""The dependency rule of DESIGN.md, beyond Python imports (those are lint-imports').

An app may name the URLs and templates of its own layer and the layers below it, never
those above: messaging reversing ``portal:`` URLs, or a messaging template including
``retention/_removed.html``, is the same wrong-way arrow as an import would be.
Templates directly under templates/ (base.html, error pages) are the project's own,
above every app.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_URL_NAME = re.compile(
    r"""(?:reverse(?:_lazy)?|redirect|resolve_url|url)\s*\(?\s*["']([a-z_]+):[\w-]+["']"""
)
_TEMPLATE_URL = re.compile(r"""\{%\s*url\s+["']([a-z_]+):[\w-]+["']""")
_TEMPLATE_REF = re.compile(
    r"""(?:\{%\s*(?:include|extends)\s+|render(?:_to_string)?\(\s*(?:request,\s*)?|template=)["']([a-z_]+)/"""
)


def _layers() -> dict[str, int]:
    """App -> layer number (0 is the top) from the import contract in pyproject.toml."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    (contract,) = config["tool"]["importlinter"]["contracts"]
    ranks = {}
    for rank, layer in enumerate(contract["layers"]):
        for app in re.split(r"[|:]", layer):
            ranks[app.strip()] = rank
    return ranks


def _independent() -> set[frozenset[str]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    (contract,) = config["tool"]["importlinter"]["contracts"]
    pairs = set()
    for layer in contract["layers"]:
        apps = [a.strip() for a in layer.split("|")] if "|" in layer else []
        pairs |= {frozenset((a, b)) for a in apps for b in apps if a != b}
    return pairs


def _wrong_way(owner: str, named: str, ranks: dict[str, int]) -> bool:
    if named not in ranks or named == owner:
        return False
    return ranks[named] < ranks[owner] or frozenset((owner, named)) in _independent()


def _violations() -> list[str]:
    ranks = _layers()
    found = []
    apps = [app for app in ranks if (ROOT / app).is_dir() and app != "config"]
    for app in apps:
        sources = [*(ROOT / app).rglob("*.py"), *(ROOT / "templates" / app).rglob("*.html")]
        sources += [*(ROOT / "templates" / app).rglob("*.txt")]
        for path in sources:
            if "migrations" in path.parts:
                continue
            text = path.read_text()
            names = set(_URL_NAME.findall(text)) | set(_TEMPLATE_URL.findall(text))
            names |= set(_TEMPLATE_REF.findall(text))
            for named in sorted(names):
                if _wrong_way(app, named, ranks):
                    found.append(f"{path.relative_to(ROOT)} names {named}")
    return found


def test_no_app_names_the_urls_or_templates_of_an_app_above_it() -> None:
    assert _violations() == []


def test_the_check_finds_a_wrong_way_name() -> None:
    ranks = _layers()
    assert _wrong_way("messaging", "portal", ranks)
    assert _wrong_way("portal", "retention", ranks)  # independent siblings
    assert not _wrong_way("portal", "messaging", ranks)


def test_views_never_write_audit_events_themselves() -> None:
    """STYLE.md: a read is recorded by a selector or a ``*_record`` service the view calls,
    so a reviewer looks in one place; a view calling event_record is the wrong place."""
    offenders = []
    for path in ROOT.glob("*/*views*.py"):
        if path.parts[-2] in ("tests", ".venv"):
            continue
        if re.search(r"\bevents?_record\(", path.read_text()):
            offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


def test_no_test_module_imports_another_test_module() -> None:
    """Shared test helpers live in factories, conftest or helper modules, never in a
    test_*.py that another test module reaches into."""
    offenders = []
    for path in (ROOT / "tests").rglob("*.py"):
        for match in re.finditer(r"^from (tests\.[\w.]*\btest_\w+) import", path.read_text(), re.M):
            offenders.append(f"{path.relative_to(ROOT)} imports {match.group(1)}")
    assert offenders == []


def test_no_template_comment_spans_lines() -> None:
    """Django's ``{# #}`` comment is one line only: one that spans lines is shown on the
    page as text (``{% comment %}`` spans lines)."""
    spanning = []
    for path in (ROOT / "templates").rglob("*.html"):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            start = line.find("{#")
            if start != -1 and "#}" not in line[start:]:
                spanning.append(f"{path.relative_to(ROOT)}:{number}")
    assert spanning == []
