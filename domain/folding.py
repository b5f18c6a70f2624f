"""Names and descriptions folded for matching without regard to case or accents, in every script.

`fold` is computed in Python when a row is written (the `*_folded` columns) and again for the value a
C-FIND, QIDO-RS or web search asks for, so SQLite and PostgreSQL compare the same plain strings (SQLite's
`lower()` folds only ASCII). Folding: compatibility decomposition (NFKD: full-width and half-width forms,
ligatures), the diacritics of Latin, Greek and Cyrillic letters dropped (Äneas → aneas, Ё → е, ά → α),
Unicode case folding (ΣΊΣΥΦΟΣ → σισυφοσ, final ς → σ, ß → ss), then NFC, which puts Hangul syllables and
voiced kana (ガ) back together: in Japanese and Korean those marks are letters, not accents.

The DICOM person-name structure survives: `^` (components) and `=` (alphabetic, ideographic, phonetic
groups) fold to themselves, as do the wildcards `*` and `?` (PS3.4 C.2.2.2.4). A pattern is folded
piece by piece between its wildcards (`pattern_pieces`), so a full-width `＊` typed by someone stays a
literal and never becomes a wildcard.
"""

import unicodedata
from collections.abc import Iterator

WILDCARDS = frozenset('*?')

# Combining marks that are accents on Latin, Greek and Cyrillic letters; other scripts keep their marks.
_ACCENT_BLOCKS = (
    (0x0300, 0x036F),  # Combining Diacritical Marks
    (0x1AB0, 0x1AFF),  # … Extended
    (0x1DC0, 0x1DFF),  # … Supplement
    (0x20D0, 0x20FF),  # … for Symbols
    (0xFE20, 0xFE2F),  # Combining Half Marks
)
_ACCENTS = {
    code: None for start, end in _ACCENT_BLOCKS for code in range(start, end + 1) if unicodedata.combining(chr(code))
}


def fold(text: str, limit: int = 255) -> str:
    """Text as names are matched: no case, no accents, compatibility forms unified (at most `limit` characters)."""
    if text.isascii():
        return text.lower()[:limit]  # the common case, and the same result as below
    text = unicodedata.normalize('NFKD', text).translate(_ACCENTS).casefold()
    text = unicodedata.normalize('NFKD', text).translate(_ACCENTS)  # case folding can bring decomposables back
    return unicodedata.normalize('NFC', text)[:limit]


def pattern_pieces(pattern: str) -> Iterator[str]:
    """A DICOM pattern split into folded literal pieces and the wildcards `*` and `?` themselves, in order."""
    literal: list[str] = []
    for ch in pattern:
        if ch in WILDCARDS:
            if literal:
                yield fold(''.join(literal), limit=len(pattern) * 4)
                literal = []
            yield ch
        else:
            literal.append(ch)
    if literal:
        yield fold(''.join(literal), limit=len(pattern) * 4)


def has_wildcard(pattern: str) -> bool:
    """True when the value is a wildcard pattern rather than a single value (PS3.4 C.2.2.2.4)."""
    return any(ch in WILDCARDS for ch in pattern)
