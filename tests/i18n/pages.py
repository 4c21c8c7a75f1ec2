"""Patient-facing pages as a reader sees them: every URL a patient (or anyone, before
sign-in) can open, from the access matrix (tests/<app>/routes.py), and the words on it.

Text inside ``translate="no"`` (what people wrote: subjects, messages, names, file
names) is not the product's wording and is left out; so are ``<script>`` and
``<style>``. With ``legal=False``, the legal wording the rules fix (``class="legal"``)
is left out too: it is kept as the rule words it, not rewritten for reading level.
"""

from __future__ import annotations

from html.parser import HTMLParser
from importlib import import_module
from pathlib import Path
from typing import Any

from django.test import Client
from django.urls import reverse

from tests.access import PUBLIC, Route
from tests.conftest import sign_in_client

ROOT = Path(__file__).resolve().parent.parent
_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source"}
_SHOWN = ("aria-label", "title", "alt", "placeholder")
# Text runs on inside these (a <strong> in a paragraph); a new one of these starts a chunk.
_BLOCKS = {
    "p",
    "li",
    "dt",
    "dd",
    "td",
    "th",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "label",
    "legend",
    "summary",
    "button",
    "caption",
    "figcaption",
    "div",
    "section",
    "option",
    "blockquote",
    "pre",
    "br",
    "title",
    "a",
}


def routes() -> dict[str, Route]:
    found: dict[str, Route] = {}
    for path in sorted(ROOT.glob("*/routes.py")):
        found.update(import_module(f"tests.{path.parent.name}.routes").ROUTES)
    return found


def patient_page_names() -> list[str]:
    """Pages a patient opens: GET, and either public or allowed to patients."""
    return sorted(
        name
        for name, route in routes().items()
        if "GET" in route.methods
        and (route.access == PUBLIC or "patient" in route.roles)
        and not name.startswith("otp_webauthn:")  # JSON for the passkey script
    )


class _Words(HTMLParser):
    def __init__(self, *, legal: bool, main_only: bool) -> None:
        super().__init__(convert_charrefs=True)
        self.legal = legal
        self.in_main = not main_only
        self.skipping: list[str] = []  # the open elements whose text is left out
        self.chunks: list[str] = []
        self.run: list[str] = []

    def _flush(self) -> None:
        text = " ".join(" ".join(self.run).split())
        if text:
            self.chunks.append(text)
        self.run = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag in _BLOCKS:
            self._flush()
        if tag == "main":
            self.in_main = True
        left_out = (
            tag in ("script", "style", "template")
            or attributes.get("translate") == "no"
            or (not self.legal and "legal" in (attributes.get("class") or "").split())
        )
        if self.skipping or left_out:
            if tag not in _VOID:
                self.skipping.append(tag)
            return
        if not self.in_main:
            return
        self.chunks += [attributes[name] or "" for name in _SHOWN if attributes.get(name)]
        if tag == "input" and attributes.get("type") in ("submit", "button"):
            self.chunks.append(attributes.get("value") or "")

    def handle_endtag(self, tag: str) -> None:
        if tag in _BLOCKS:
            self._flush()
        if self.skipping and self.skipping[-1] == tag:
            self.skipping.pop()
        elif tag == "main":
            self.in_main = False

    def handle_data(self, data: str) -> None:
        if self.in_main and not self.skipping:
            self.run.append(data)


def words(html: str, *, legal: bool = True, main_only: bool = False) -> list[str]:
    """The visible text of ``html`` in reading order, one chunk per block (a paragraph, a
    list item, a label, a button...); with
    ``main_only``, the page's own content (``<main>``) without header and footer."""
    parser = _Words(legal=legal, main_only=main_only)
    parser.feed(html)
    parser.close()
    parser._flush()
    return parser.chunks


def page_html(
    name: str, personas: Any, request: Any, settings: Any, *, language: str
) -> str | None:
    """The page ``name`` as the patient (or an anonymous visitor) reads it in ``language``;
    ``None`` for a download (an attachment is what people wrote, not our wording)."""
    route = routes()[name]
    for fixture in route.fixtures:
        request.getfixturevalue(fixture)
    for key, value in route.settings.items():
        setattr(settings, key, value)
    kwargs = route.kwargs(personas) if callable(route.kwargs) else route.kwargs
    url = reverse(name, kwargs=kwargs or None)
    if route.access == PUBLIC:
        client = Client()
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    else:
        personas.patient.language = language
        personas.patient.save(update_fields=["language"])
        client = sign_in_client(Client(), personas.patient, verified=route.access != "pre_mfa")
    response = client.get(url)
    assert response.status_code < 500, (name, response.status_code)
    if response.status_code in (301, 302, 303):
        response = client.get(response["Location"])
    if "text/html" not in response["Content-Type"]:
        return None
    return response.content.decode()
