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
from typing import NamedTuple

WILDCARDS = frozenset('*?')


class Piece(NamedTuple):
    """A part of a DICOM pattern: literal text, or one of the wildcards `*` and `?`."""

    text: str
    wildcard: bool = False


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


def fold_person_name(value: str, limit: int = 255) -> str:
    """A DICOM person name folded, without the empty components at the end of each group (Doe^John^^ = Doe^John)."""
    groups = [group.rstrip('^ ') for group in fold(value, limit=4 * limit).split('=')]
    return '='.join(groups).rstrip('=')[:limit]


def pattern_pieces(pattern: str, *, folded: bool = True) -> list[Piece]:
    """A DICOM pattern as literal pieces (folded, unless told) and the wildcards `*` and `?`, in order."""
    pieces: list[Piece] = []
    literal: list[str] = []
    for ch in pattern:
        if ch in WILDCARDS:
            if literal:
                pieces.append(Piece(_literal(''.join(literal), folded)))
                literal = []
            pieces.append(Piece(ch, wildcard=True))
        else:
            literal.append(ch)
    if literal:
        pieces.append(Piece(_literal(''.join(literal), folded)))
    return pieces


def person_name_pieces(pattern: str) -> list[Piece]:
    """A person-name pattern as pieces: folded like the stored names, a single value losing its empty components."""
    if not has_wildcard(pattern):
        return [Piece(fold_person_name(pattern, limit=4 * len(pattern)))]
    return pattern_pieces(pattern)


def has_wildcard(pattern: str) -> bool:
    """True when the value is a wildcard pattern rather than a single value (PS3.4 C.2.2.2.4)."""
    return any(ch in WILDCARDS for ch in pattern)


def ideographic_or_phonetic(pieces: list[Piece]) -> bool:
    """True when a pattern is written in CJK ideographs, kana or Hangul: the scripts of a name's second and third
    component groups (PS3.5 6.2.1.2), which it is then matched against too."""
    return any(_east_asian(ch) for piece in pieces if not piece.wildcard for ch in piece.text)


def _literal(text: str, folded: bool) -> str:
    return fold(text, limit=4 * len(text)) if folded else text


def _east_asian(ch: str) -> bool:
    code = ord(ch)
    return any(start <= code <= end for start, end in _EAST_ASIAN_BLOCKS)


_EAST_ASIAN_BLOCKS = (
    (0x1100, 0x11FF),  # Hangul Jamo
    (0x2E80, 0x9FFF),  # CJK radicals, punctuation, Hiragana, Katakana, Bopomofo, Hangul compatibility, ideographs
    (0xA960, 0xA97F),  # Hangul Jamo Extended-A
    (0xAC00, 0xD7FF),  # Hangul syllables, Jamo Extended-B
    (0xF900, 0xFAFF),  # CJK compatibility ideographs
    (0xFF65, 0xFFDC),  # half-width Katakana and Hangul (NFKD makes them full width; kept for unfolded text)
    (0x20000, 0x3FFFF),  # CJK ideographs, extensions B and later
)
