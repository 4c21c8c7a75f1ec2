"""Message bodies: plain text or a small Markdown subset, rendered through an allow-list.

Markdown is parsed with raw HTML disabled, then the result is cleaned by nh3 (the
Ammonia sanitizer) so that only the tags below survive, whatever the input.

Links: only absolute ``https://`` and ``mailto:`` addresses become links (a relative or
scheme-relative one such as ``//evil.example/login`` stays text), bare ``https://``
addresses become links by themselves, and a link whose text is not its own address
shows the real host beside it, so "[Your results](https://evil.example)" reads
"Your results (evil.example)".
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import nh3
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt

_TAGS = {"p", "br", "strong", "em", "ul", "ol", "li", "a", "code", "pre", "blockquote", "span"}
_ATTRIBUTES = {"a": {"href"}}
_SCHEMES = {"https", "mailto"}
_HOST_CLASS = "link-host"


def link_allowed(url: str) -> bool:
    """An absolute https address with a host, or a mailto address; nothing else."""
    parts = urlsplit(url.strip())
    if parts.scheme.lower() == "https":
        return bool(parts.hostname)
    return parts.scheme.lower() == "mailto" and "@" in parts.path


def _link_shown_as(href: str) -> str:
    parts = urlsplit(href)
    return parts.path if parts.scheme.lower() == "mailto" else (parts.hostname or "")


def _link_close(renderer: Any, tokens: Any, idx: int, options: Any, env: Any) -> str:
    opening = next(
        token
        for token in reversed(tokens[:idx])
        if token.type == "link_open" and token.level == tokens[idx].level
    )
    if opening.markup == "linkify":  # the text is the address itself
        return "</a>"
    shown = escape(_link_shown_as(opening.attrGet("href")))
    return f'</a> <span class="{_HOST_CLASS}">({shown})</span>'


_markdown = MarkdownIt("zero", {"html": False, "linkify": True, "breaks": True}).enable(
    ["emphasis", "list", "link", "linkify", "backticks", "fence", "blockquote", "newline"]
)
_markdown.validateLink = link_allowed  # type: ignore[method-assign]
# Only what starts with a scheme: "example.com" in a sentence stays text.
assert _markdown.linkify is not None  # linkify-it-py is installed (pyproject.toml)
_markdown.linkify.set({"fuzzy_link": False, "fuzzy_email": False, "fuzzy_ip": False})
_markdown.add_render_rule("link_close", _link_close)


def body_render(text: str) -> SafeString:
    html = _markdown.render(text)
    cleaned = nh3.clean(
        html,
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        tag_attribute_values={"span": {"class": {_HOST_CLASS}}},
        url_schemes=_SCHEMES,
        link_rel="noopener noreferrer nofollow",
    )
    return mark_safe(cleaned)  # noqa: S308 - nh3 output under the allow-list above
