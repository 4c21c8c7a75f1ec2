"""Message bodies: plain text or a small Markdown subset, rendered through an allow-list.

Markdown is parsed with raw HTML disabled, then the result is cleaned by nh3 (the
Ammonia sanitizer) so that only the tags below survive, whatever the input.
"""

from __future__ import annotations

import nh3
from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt

_TAGS = {"p", "br", "strong", "em", "ul", "ol", "li", "a", "code", "pre", "blockquote"}
_ATTRIBUTES = {"a": {"href"}}
_SCHEMES = {"https", "mailto"}

_markdown = MarkdownIt("zero", {"html": False, "linkify": False, "breaks": True}).enable(
    ["emphasis", "list", "link", "backticks", "fence", "blockquote", "newline"]
)


def body_render(text: str) -> SafeString:
    html = _markdown.render(text)
    cleaned = nh3.clean(
        html,
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        url_schemes=_SCHEMES,
        link_rel="noopener noreferrer nofollow",
    )
    return mark_safe(cleaned)  # noqa: S308 - nh3 output under the allow-list above
