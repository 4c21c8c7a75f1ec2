"""A patient who chose Spanish reads Spanish on every page they can open: no English
function word is left in the product's own wording (what people wrote is marked
``translate="no"`` and not checked)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.i18n.pages import page_html, patient_page_names, words

pytestmark = pytest.mark.django_db

# Common English words that are not Spanish words: one of them in a Spanish page is an
# untranslated phrase.
ENGLISH = frozenset(
    [
        "the",
        "your",
        "you",
        "and",
        "of",
        "is",
        "are",
        "this",
        "that",
        "with",
        "for",
        "we",
        "our",
        "not",
        "be",
        "have",
        "has",
        "will",
        "can",
        "from",
        "or",
        "by",
        "on",
        "at",
        "it",
        "was",
        "please",
        "who",
        "what",
        "when",
        "which",
        "there",
        "here",
        "been",
        "were",
        "would",
        "should",
        "could",
        "an",
        "if",
        "into",
        "about",
        "after",
        "before",
        "only",
        "than",
        "then",
        "they",
        "them",
        "their",
        "these",
        "those",
        "my",
        "its",
        "does",
        "did",
        "yet",
        "all",
        "any",
        "how",
        "why",
        "sign",
        "message",
        "messages",
        "records",
        "request",
        "send",
        "back",
    ]
)
_WORD = re.compile(r"[^\W\d_]+")


def english_in(chunks: list[str]) -> list[str]:
    return [chunk for chunk in chunks if any(w.lower() in ENGLISH for w in _WORD.findall(chunk))]


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
