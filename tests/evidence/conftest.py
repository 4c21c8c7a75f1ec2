from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from typing import Any

import pytest
from django.urls import reverse


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
