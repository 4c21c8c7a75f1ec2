"""A patient who chose Spanish reads Spanish on every page they can open: no English
function word is left in the product's own wording (what people wrote is marked
``translate="no"`` and not checked)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.i18n.language import english_in
from tests.i18n.pages import page_html, patient_page_names, words

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("name", patient_page_names())
def test_the_page_reads_in_spanish(name: str, personas: Any, request: Any, settings: Any) -> None:
    html = page_html(name, personas, request, settings, language="es")
    if html is None:
        return
    assert '<html lang="es">' in html
    assert english_in(words(html)) == []


def test_the_check_sees_english() -> None:
    html = '<p>Tus mensajes</p><p>Your messages</p><p translate="no">Your appointment</p>'
    assert english_in(words(html)) == ["Your messages"]
