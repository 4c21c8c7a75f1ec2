"""Patient pages speak plainly: regulation speech (section numbers, "designated record
set", "PHI"...) appears only where a page explains why it asks (``<details
class="why">``) or in the wording a rule fixes (``class="legal"``)."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

import pytest

from tests.i18n.pages import page_html, patient_page_names, words

pytestmark = pytest.mark.django_db

JARGON = (
    "CFR",
    "§",
    "designated record set",
    "covered entity",
    "PHI",
    "pursuant",
    "hereby",
)
_FOUND = re.compile("|".join(rf"(?<!\w){re.escape(term)}(?!\w)" for term in JARGON), re.IGNORECASE)


class _WithoutWhy(HTMLParser):
    """The page with every ``<details class="why">`` (and what it holds) left out."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.kept: list[str] = []
        self.depth = 0  # open <details> inside a "why", counting the "why" itself

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "details" and (self.depth or "why" in (dict(attrs).get("class") or "").split()):
            self.depth += 1
        if not self.depth:
            self.kept.append(self.get_starttag_text() or "")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if not self.depth:
            self.kept.append(self.get_starttag_text() or "")

    def handle_endtag(self, tag: str) -> None:
        if self.depth:
            if tag == "details":
                self.depth -= 1
            return
        self.kept.append(f"</{tag}>")

    def handle_data(self, data: str) -> None:
        if not self.depth:
            self.kept.append(data)

    def handle_entityref(self, name: str) -> None:
        if not self.depth:
            self.kept.append(f"&{name};")

    def handle_charref(self, name: str) -> None:
        if not self.depth:
            self.kept.append(f"&#{name};")


def jargon_in(html: str) -> list[str]:
    """The chunks of ``html`` a reader sees that hold jargon, outside "why" and legal text."""
    parser = _WithoutWhy()
    parser.feed(html)
    parser.close()
    return [chunk for chunk in words("".join(parser.kept), legal=False) if _FOUND.search(chunk)]


@pytest.mark.parametrize("name", patient_page_names())
def test_the_page_holds_no_jargon(name: str, personas: Any, request: Any, settings: Any) -> None:
    html = page_html(name, personas, request, settings, language="en")
    if html is None:
        return
    assert jargon_in(html) == [], name


class TestTheCheck:
    def test_it_finds_jargon_in_text_and_attributes(self) -> None:
        html = (
            '<p>Your PHI is safe</p><a title="45 CFR 164.524">x</a>'
            "<p>The Designated Record Set</p><p>Kept under § 5</p>"
        )
        assert jargon_in(html) == [
            "Your PHI is safe",
            "45 CFR 164.524",
            "The Designated Record Set",
            "Kept under § 5",
        ]

    def test_it_leaves_out_why_and_legal_text(self) -> None:
        html = (
            '<details class="why"><summary>Why we ask</summary><p>45 CFR 164.524</p>'
            '<details><p>PHI</p></details></details><p class="legal">hereby</p>'
            "<p>Your records</p>"
        )
        assert jargon_in(html) == []

    def test_it_does_not_find_words_that_only_contain_a_term(self) -> None:
        assert jargon_in("<p>Graphic philosophy</p>") == []
