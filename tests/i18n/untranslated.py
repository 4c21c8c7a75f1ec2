"""Find the words of a template that no translation tag holds.

Walks Django's own lexer and keeps a skeleton of the page: the text outside
``{% blocktranslate %}``, every tag and variable replaced by a marker. With HTML tags,
comments, scripts, entities, punctuation and numbers removed, the skeleton must hold no
word, nor may its visible attributes (``aria-label``, ``title``, ``alt``,
``placeholder``); a quoted phrase handed to a tag or filter (``with button="Send"``,
``default:"None"``) must be wrapped in ``_()``.
"""

from __future__ import annotations

import html
import re

from django.template.base import Lexer, TokenType

MARK = "\x00"
_HIDDEN = re.compile(r"<!--.*?-->|<(script|style)\b.*?</\1>", re.S | re.I)
_TAG = re.compile(r"<[^>]*>", re.S)
_SHOWN_ATTRIBUTE = re.compile(r'\b(?:aria-label|title|alt|placeholder)="([^"]*)"', re.I)
_WORD = re.compile(r"[^\W\d_]{2,}")
_QUOTED = re.compile(r'"([^"]*)"|\'([^\']*)\'')
_NOT_PROSE = ("_(", "date:", "time:")
_OPENS = {"blocktranslate", "blocktrans", "comment", "verbatim"}
_CLOSES = {"endblocktranslate", "endblocktrans", "endcomment", "endverbatim"}
# Blocks of print/base.html that land inside its <style>: CSS, not prose (a page box's
# ``content`` text is still translated inside them, and checked in the PDF tests).
_CSS_BLOCKS = {"style", "page_boxes", "margin", "orientation"}


def _phrases(contents: str) -> list[str]:
    """Quoted strings in a tag or variable that read as prose (a word and a space), unless
    wrapped in ``_()`` or a date or time format."""
    found = []
    for match in _QUOTED.finditer(contents):
        text = match.group(1) if match.group(1) is not None else match.group(2)
        before = contents[: match.start()]
        if " " in text.strip() and _has_word(text) and not before.endswith(_NOT_PROSE):
            found.append(text)
    return found


def _has_word(text: str) -> bool:
    return bool(_WORD.search(html.unescape(text).replace(MARK, " ")))


def untranslated(source: str) -> list[str]:
    """The phrases of ``source`` a reader would see untranslated, in order."""
    skeleton: list[str] = []
    phrases: list[str] = []
    depth = 0
    css = False
    for token in Lexer(source).tokenize():
        first = token.contents.split(" ", 1)[0] if token.contents else ""
        if token.token_type == TokenType.TEXT:
            skeleton.append(token.contents if depth == 0 and not css else MARK)
            continue
        skeleton.append(MARK)
        if token.token_type == TokenType.BLOCK:
            if first == "block":
                css = token.split_contents()[1] in _CSS_BLOCKS
            elif first == "endblock":
                css = False
            elif first in _OPENS:
                depth += 1
            elif first in _CLOSES:
                depth -= 1
            elif depth == 0 and first not in ("translate", "trans"):
                phrases += _phrases(token.contents)
        elif token.token_type == TokenType.VAR and depth == 0:
            phrases += _phrases(token.contents)
    page = _HIDDEN.sub(MARK, "".join(skeleton))
    attributes = [value for value in _SHOWN_ATTRIBUTE.findall(page) if _has_word(value)]
    texts = [
        " ".join(html.unescape(chunk).split())
        for chunk in re.split(f"[{MARK}\n]", _TAG.sub(MARK, page))
        if _has_word(chunk)
    ]
    return phrases + attributes + texts
