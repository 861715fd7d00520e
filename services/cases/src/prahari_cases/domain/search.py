"""Words for free-text search, in Hindi and English alike.

PostgreSQL's default parser, under the C.UTF-8 locale, ends a word at any character that is
not a letter or digit; Devanagari's virama (्) and vowel signs (ा ि ी ...) are combining
marks, so तस्करी would be stored as "तस" and "करी" and ट्रक as "ट" and "रक". We split
here instead: a word is a run of letters, digits and combining marks (Unicode categories
L, M, N), so conjuncts stay whole, then normalise to NFC and casefold. The store keeps
these words as they are (`array_to_tsvector`), and queries match whole words or prefixes.
"""

from __future__ import annotations

import unicodedata

# Zero-width joiner and non-joiner shape conjuncts in Devanagari without changing a word.
_JOINERS = {"\u200c", "\u200d"}
MAX_TERMS = 500


def words(text: str) -> list[str]:
    """The words of `text`, normalised, in order, with repeats."""
    out: list[str] = []
    current: list[str] = []
    for char in unicodedata.normalize("NFC", text):
        if char in _JOINERS:
            continue
        if unicodedata.category(char)[0] in "LMN":
            current.append(char)
        elif current:
            out.append("".join(current).casefold())
            current = []
    if current:
        out.append("".join(current).casefold())
    return out


def terms(*texts: str) -> list[str]:
    """The distinct words of some texts, for a case's search column."""
    seen: dict[str, None] = {}
    for text in texts:
        for word in words(text):
            seen.setdefault(word, None)
    return list(seen)[:MAX_TERMS]
