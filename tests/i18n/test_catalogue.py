"""The Spanish catalogue is complete: every string the code marks for translation, as
``makemessages`` finds it today, has a Spanish translation that is not fuzzy."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(settings.BASE_DIR)
CATALOGUE = ROOT / "locale" / "es" / "LC_MESSAGES" / "django.po"
SKIP = {"var", "node_modules", "locale", "htmlcov"}
# Copied (settings may import them) but not searched for strings.
NOT_SEARCHED = ("tests", "bench", "deploy", "scripts")

pytestmark = pytest.mark.skipif(
    not shutil.which("xgettext") or not shutil.which("msgcmp"), reason="needs GNU gettext"
)


def _fresh_catalogue(folder: Path) -> Path:
    """``makemessages -l es`` over a copy of the sources (the real one stays untouched)."""
    copy = folder / "src"
    shutil.copytree(
        ROOT,
        copy,
        ignore=lambda _, names: [
            n for n in names if n in SKIP or n.startswith(".") or n == "__pycache__"
        ],
    )
    (copy / "locale").mkdir()
    subprocess.run(
        [sys.executable, "manage.py", "makemessages", "-l", "es", "--no-obsolete", "-v", "0"]
        + [f"--ignore={folder}/*" for folder in NOT_SEARCHED],
        cwd=copy,
        env={**os.environ, "APP_MODE": "test"},
        check=True,
        capture_output=True,
    )
    return copy / "locale" / "es" / "LC_MESSAGES" / "django.po"


def test_every_marked_string_has_a_spanish_translation(tmp_path: Path) -> None:
    fresh = _fresh_catalogue(tmp_path)
    result = subprocess.run(
        ["msgcmp", str(CATALOGUE), str(fresh)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, (
        "run `make messages` and translate what it adds:\n" + result.stderr[-4000:]
    )


def test_the_catalogue_compiles_with_matching_placeholders() -> None:
    result = subprocess.run(
        ["msgfmt", "--check", "-o", os.devnull, str(CATALOGUE)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
