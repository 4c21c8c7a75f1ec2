"""Every URL is in exactly one app's access matrix, and every app has one (tests/access.py)."""

from __future__ import annotations

from importlib import import_module
from pathlib import Path

from django.urls import get_resolver

from tests.access import Route, url_names

ROOT = Path(__file__).resolve().parent
ADMIN_PREFIX = "admin:"  # the Django admin: tests/accounts/test_access.py checks it apart
APPS = sorted(path.parent.name for path in ROOT.glob("*/routes.py"))


def _classified() -> dict[str, list[str]]:
    where: dict[str, list[str]] = {}
    for app in APPS:
        routes: dict[str, Route] = import_module(f"tests.{app}.routes").ROUTES
        for name in routes:
            where.setdefault(name, []).append(app)
    return where


def test_every_url_is_classified_once() -> None:
    classified = _classified()
    urls = {n for n in url_names(get_resolver().url_patterns) if not n.startswith(ADMIN_PREFIX)}
    assert sorted(urls - set(classified)) == [], "classify these in tests/<app>/routes.py"
    assert {n: a for n, a in classified.items() if len(a) > 1} == {}


def test_the_classification_names_only_real_urls() -> None:
    assert set(_classified()) <= url_names(get_resolver().url_patterns)


def test_every_app_with_urls_runs_the_matrix() -> None:
    for app in APPS:
        module = (ROOT / app / "test_access.py").read_text()
        assert "(AccessMatrix)" in module and f"tests.{app}.routes import ROUTES" in module, app
