"""axe-core (from npm, installed by scripts/services.py) run in the page under test.

The site's CSP forbids inline scripts, so axe is injected only into pages of a context
made by ``axe_context`` (``bypass_csp=True``); every other browser test keeps the CSP.
"""

from __future__ import annotations

import os
from typing import Any

import pytest

# WCAG 2.1 level A and AA, as the requirement says; axe's best-practice rules are left out.
WCAG_21_AA_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]

_RUN_AXE = """async (tags) => {
  const results = await axe.run(document, {runOnly: {type: 'tag', values: tags}});
  return results.violations.map((v) => ({
    id: v.id,
    impact: v.impact,
    help: v.help,
    nodes: v.nodes.map((n) => ({target: n.target.join(' '), summary: n.failureSummary})),
  }));
}"""


# axe leaves an aria-describedby that points at no element for review rather than failing:
# Django's widgets point at "<id>_helptext" and "<id>_error", so a template that names
# them otherwise silently cuts help and errors off from their field (WCAG 1.3.1, 3.3.1).
_MISSING_REFERENCES = """() => {
  const found = [];
  for (const el of document.querySelectorAll('[aria-describedby], [aria-labelledby]')) {
    for (const attr of ['aria-describedby', 'aria-labelledby']) {
      for (const id of (el.getAttribute(attr) || '').split(/\\s+/).filter(Boolean)) {
        if (!document.getElementById(id)) found.push(`${el.id || el.tagName} ${attr}=${id}`);
      }
    }
  }
  return found;
}"""


def axe_core_path() -> str:
    """The path of axe.min.js; without it the test is skipped, or fails under CI=true."""
    path = os.environ.get("AXE_CORE_PATH", "")
    if path and os.path.exists(path):
        return path
    reason = f"axe-core not found (AXE_CORE_PATH={path!r}): run scripts/services.py"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (CI=true: no skipping)")
    pytest.skip(reason)


def axe_context(browser: Any, base_url: str, **options: Any) -> Any:
    """A browser context that lets axe be injected despite the site's CSP."""
    return browser.new_context(base_url=base_url, bypass_csp=True, **options)


def axe_violations(
    page: Any, impacts: tuple[str, ...] = ("serious", "critical")
) -> list[dict[str, Any]]:
    """The WCAG 2.1 A/AA violations of these impacts on the page as it is now."""
    path = axe_core_path()
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=path)
    violations: list[dict[str, Any]] = page.evaluate(_RUN_AXE, WCAG_21_AA_TAGS)
    return [violation for violation in violations if violation["impact"] in impacts]


def missing_references(page: Any) -> list[dict[str, Any]]:
    """aria-describedby / aria-labelledby ids that name no element, as a violation."""
    missing: list[str] = page.evaluate(_MISSING_REFERENCES)
    if not missing:
        return []
    return [
        {
            "id": "aria-reference-missing",
            "impact": "serious",
            "help": "aria-describedby and aria-labelledby must name elements on the page",
            "nodes": [{"target": reference} for reference in missing],
        }
    ]
