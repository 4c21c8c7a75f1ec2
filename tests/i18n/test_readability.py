"""Patient-facing English reads at about a 6th-8th grade level (Flesch-Kincaid).

The prose of each page's own content (``<main>``: paragraphs, list items, help text of
``PROSE_WORDS`` words or more), without what people wrote (``translate="no"``) and
without the legal wording the rules fix (``class="legal"``), must grade at most
``GRADE_LIMIT``. A page with less than ``MIN_WORDS`` words of prose is too short for the
formula to mean anything.
"""

from __future__ import annotations

from typing import Any

import pytest
import textstat

from tests.i18n.language import GRADE_LIMIT, MIN_WORDS, grade, prose
from tests.i18n.pages import page_html, patient_page_names, words

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("name", patient_page_names())
def test_the_page_reads_at_grade_8_or_below(
    name: str, personas: Any, request: Any, settings: Any
) -> None:
    html = page_html(name, personas, request, settings, language="en")
    if html is None:
        return
    text = prose(words(html, legal=False, main_only=True))
    if textstat.lexicon_count(text) < MIN_WORDS:
        return
    assert grade(text) <= GRADE_LIMIT, f"{name}: grade {grade(text)}\n{text}"


def test_the_formula_tells_plain_from_legal() -> None:
    plain = "We act on your request within 30 days. A copy in this portal is free."
    legal = (
        "The designated record set includes medical and billing records maintained by or "
        "for a covered entity and used to make decisions about individuals."
    )
    assert grade(plain) <= GRADE_LIMIT < grade(legal)
