"""What the language checks share: English words a Spanish page must not hold, and the
reading grade of English prose (the tests are in test_spanish_pages.py and
test_readability.py; the documents' and e-mails' tests use the same measures)."""

from __future__ import annotations

import re

import textstat

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


GRADE_LIMIT = 8.0
MIN_WORDS = 40


PROSE_WORDS = 6  # a shorter block is a label, a heading or a button, not prose


def prose(chunks: list[str]) -> str:
    """The blocks that read as sentences, each ending as one."""
    return " ".join(
        chunk if chunk[-1] in ".?!:" else f"{chunk}."
        for chunk in chunks
        if len(chunk.split()) >= PROSE_WORDS
    )


def grade(text: str) -> float:
    return float(textstat.flesch_kincaid_grade(text))
