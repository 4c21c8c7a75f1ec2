from __future__ import annotations

import io
import os
import shutil
import subprocess
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse

PDFSIG = shutil.which("pdfsig") or "/usr/bin/pdfsig"


@pytest.fixture
def pdfsig(tmp_path: Path) -> Callable[[bytes], list[str]]:
    """poppler's pdfsig on a PDF, as in tests/records/test_signing.py: its report's lines."""
    if not os.path.exists(PDFSIG):
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"pdfsig not found at {PDFSIG} (CI=true: no skipping)")
        pytest.skip("pdfsig (Debian poppler-utils) is not installed")

    def run(pdf: bytes) -> list[str]:
        path = tmp_path / "report.pdf"
        path.write_bytes(pdf)
        result = subprocess.run(
            [PDFSIG, "-no-ocsp", str(path)],
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path)},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        return [line.strip() for line in result.stdout.splitlines()]

    return run


@pytest.fixture
def pack_download(client_for: Any, personas: Any, organisation: Any) -> Callable[..., Any]:
    """The pack as the privacy officer downloads it: (response, its bytes, the ZipFile)."""

    def download(**query: str) -> tuple[Any, bytes, zipfile.ZipFile]:
        client = client_for(personas.privacy_officer)
        response = client.get(reverse("evidence:pack"), query)
        assert response.status_code == 200, response.status_code
        data = b"".join(response.streaming_content)
        return response, data, zipfile.ZipFile(io.BytesIO(data))

    return download
