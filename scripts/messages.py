"""Compile the translations: every ``locale/<language>/LC_MESSAGES/*.po`` to its ``.mo``.

`make run`, `make test` and the production install run it; the compiled files are not
committed. GNU gettext's ``msgfmt --check`` refuses a catalogue with a broken
placeholder, so a bad translation fails here and not on a patient's page. Needs no
Django settings (production's need secrets), only ``msgfmt``.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCALE = ROOT / "locale"


def compile_all() -> int:
    msgfmt = shutil.which("msgfmt")
    if msgfmt is None:
        print("msgfmt not found: install GNU gettext (Debian: gettext)", file=sys.stderr)
        return 1
    for po in sorted(LOCALE.glob("*/LC_MESSAGES/*.po")):
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        result = subprocess.run(
            [msgfmt, "--check", "-o", str(mo), str(po)], capture_output=True, text=True
        )
        if result.returncode != 0:
            print(f"{po.relative_to(ROOT)}:\n{result.stderr}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(compile_all())
