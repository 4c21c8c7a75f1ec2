"""The set-up helper behind `make test` and `make run` (scripts/services.py).

scripts/test.sh evaluates the helper's stdout as shell, so an installer line reaching
stdout breaks a fresh machine (the packages were already there on ours). A fake
``apt-get`` first on PATH prints Debian's progress lines to stdout, as the real one does.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "scripts"
sys.path.insert(0, str(SCRIPTS))
import services  # noqa: E402

FAKE_APT_GET = """#!/bin/sh
echo "$*" >> "$APT_LOG"
echo "Reading package lists..."
echo "Selecting previously unselected package chromium."
echo "(Reading database ... 5%(Reading database ... 100%"
echo "Setting up chromium (156.0.8078.73-1~deb12u1) ..."
[ -n "$APT_FAIL" ] && exit 100
if [ "$1" = install ]; then touch "$CHROMIUM_PATH" "$INSTALLED_MARK"; fi
exit 0
"""

# Runs a profile of the helper with only the parts a test controls; the fake apt-get
# needs no root. A PDF library counts as missing until the fake apt-get has run.
DRIVER = """
import ctypes.util, os, sys
sys.path.insert(0, {scripts!r})
real_find = ctypes.util.find_library
def find(name):
    if name == "harfbuzz-subset" and not os.path.exists(os.environ["INSTALLED_MARK"]):
        return None
    return real_find(name) or "lib" + name + ".so"
ctypes.util.find_library = find
os.geteuid = lambda: 0
import services
profile = sys.argv[1]
if profile == "test":
    services.TEST_PARTS = (services.CHROMIUM, services.PDF)
    raise SystemExit(services.main())
import demo
raise SystemExit(0 if demo.system_ready() is not None else 1)
"""


@pytest.fixture
def fake_machine(tmp_path: Path) -> dict[str, str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    apt_get = bin_dir / "apt-get"
    apt_get.write_text(FAKE_APT_GET)
    apt_get.chmod(0o755)
    return {
        **os.environ,
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "APT_LOG": str(tmp_path / "apt.log"),
        "INSTALLED_MARK": str(tmp_path / "installed"),
        "CHROMIUM_PATH": str(tmp_path / "chromium"),  # missing until "installed"
        "DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/unused",
        "REDIS_URL": "redis://127.0.0.1:6379/0",
        "AXE_CORE_PATH": str(tmp_path / "axe.min.js"),
        "CI": "true",
    }


def _run(profile: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", DRIVER.format(scripts=str(SCRIPTS)), profile],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


class TestInstallerOutput:
    def test_stdout_holds_only_export_lines_while_apt_get_prints(
        self, fake_machine: dict[str, str]
    ) -> None:
        result = _run("test", fake_machine)
        assert result.returncode == 0, result.stderr
        lines = result.stdout.splitlines()
        assert lines and all(line.startswith("export ") for line in lines), result.stdout
        assert f"export CHROMIUM_PATH='{fake_machine['CHROMIUM_PATH']}'" in lines
        assert "Selecting previously unselected package chromium." in result.stderr

    def test_test_sh_can_evaluate_the_output(self, fake_machine: dict[str, str]) -> None:
        driver = f"{sys.executable} -c '{DRIVER.format(scripts=str(SCRIPTS))}' test"
        result = subprocess.run(
            ["bash", "-c", f'set -euo pipefail; eval "$({driver})"; echo "ok $CHROMIUM_PATH"'],
            env=fake_machine,
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
        assert result.stdout.strip() == f"ok {fake_machine['CHROMIUM_PATH']}", result.stderr

    def test_with_ci_a_failed_install_fails_the_run(self, fake_machine: dict[str, str]) -> None:
        result = _run("test", {**fake_machine, "APT_FAIL": "1"})
        assert result.returncode == 1
        assert result.stdout == ""
        assert "unavailable: Chromium, Pango/HarfBuzz (PDF) (CI=true: failing)" in result.stderr

    def test_without_ci_a_failed_install_still_prints_only_exports(
        self, fake_machine: dict[str, str]
    ) -> None:
        result = _run("test", {**fake_machine, "APT_FAIL": "1", "CI": "false"})
        assert result.returncode == 0
        assert all(line.startswith("export ") for line in result.stdout.splitlines())
        assert "will be skipped" in result.stderr


class TestRunAndTestShareTheSystemParts:
    def test_the_demo_needs_a_subset_of_what_the_tests_need(self) -> None:
        assert set(services.RUN_PARTS) <= set(services.TEST_PARTS)
        assert {services.REDIS, services.PDF, services.FONTS} <= set(services.RUN_PARTS)

    @pytest.mark.parametrize("profile", ["run", "test"])
    def test_each_command_installs_the_missing_pdf_library(
        self, profile: str, fake_machine: dict[str, str]
    ) -> None:
        result = _run(profile, fake_machine)
        assert result.returncode == 0, result.stderr
        installs = [
            line
            for line in Path(fake_machine["APT_LOG"]).read_text().splitlines()
            if line.startswith("install")
        ]
        assert len(installs) == 1 and "libharfbuzz-subset0" in installs[0].split()
