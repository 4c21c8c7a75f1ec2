"""Every word a patient reads in a template is held by a translation tag."""

from __future__ import annotations

import pytest

from tests.i18n.patient_facing import TEMPLATES, patient_templates
from tests.i18n.untranslated import untranslated


@pytest.mark.parametrize("name", patient_templates())
def test_no_untranslated_words(name: str) -> None:
    found = untranslated((TEMPLATES / name).read_text())
    assert not found, f"{name}: untranslated text {found}"


class TestTheDetector:
    def test_it_finds_bare_text_attributes_and_phrases_handed_to_tags(self) -> None:
        source = (
            '{% load i18n %}<nav aria-label="Main"><a href="{% url \'x\' %}">Home</a></nav>'
            '{% include "c.html" with button="Send it" %}{{ x|default:"None here" }}'
        )
        assert untranslated(source) == ["Send it", "None here", "Main", "Home"]

    def test_it_accepts_translated_text_names_dates_and_markup(self) -> None:
        source = (
            '{% load i18n %}<nav aria-label="{% translate "Main" %}">'
            '<a href="{% url "accounts:home" %}" class="button secondary">'
            "{% translate 'Home' %}</a></nav>{% blocktranslate with n=3 %}{{ n }} new"
            '{% endblocktranslate %}{{ when|date:"j M Y" }} &middot; 2026 {{ name }}'
            "<!-- a comment --><script src=x></script>"
            '{% include "c.html" with button=_("Send it") %}'
        )
        assert untranslated(source) == []

    def test_it_skips_the_css_of_print_blocks_but_not_the_words_around_them(self) -> None:
        source = (
            "{% load i18n %}{% block style %}h1 { font-size: 16pt; }{% endblock %}"
            '{% block page_boxes %}@top { content: "{% translate "Copy" %}"; }{% endblock %}'
            "{% block body %}<p>Dear patient</p>{% endblock %}"
        )
        assert untranslated(source) == ["Dear patient"]
