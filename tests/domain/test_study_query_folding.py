"""domain.folding: the one folding of names and descriptions that stored columns and asked patterns share."""

import sys

import pytest

from domain.folding import Piece, fold, fold_person_name, ideographic_or_phonetic, pattern_pieces, person_name_pieces


@pytest.mark.parametrize(
    ('written', 'folded'),
    [
        ('Äneas^Rüdiger', 'aneas^rudiger'),
        ('ÄNEAS^RÜDIGER', 'aneas^rudiger'),
        ('Люкceмбypг', 'люкceмбypг'),
        ('ЁЛКИНА^Пётр', 'елкина^петр'),
        ('ΔΙΟΝΎΣΙΟΣ', 'διονυσιοσ'),  # tonos dropped, final sigma folds like any sigma
        ('Straße', 'strasse'),
        ('Ørsted', 'ørsted'),  # a letter of its own, not O with a mark
        ('Yamada^Tarou=山田^太郎=やまだ^たろう', 'yamada^tarou=山田^太郎=やまだ^たろう'),
        ('ﾔﾏﾀﾞ^ﾀﾛｳ', 'ヤマダ^タロウ'),  # half-width kana made full width, the voicing mark kept
        ('Hong^Gildong=洪^吉洞=홍^길동', 'hong^gildong=洪^吉洞=홍^길동'),  # Hangul syllables stay whole
        ('ＣＴ　ＣＨＥＳＴ', 'ct chest'),
    ],
)
def test_names_fold_without_case_or_accents_keeping_their_structure(written: str, folded: str) -> None:
    assert fold(written) == folded


def test_folding_twice_changes_nothing_for_any_character() -> None:
    changed = [
        hex(code)
        for code in range(sys.maxunicode + 1)
        if not 0xD800 <= code <= 0xDFFF and fold(fold(chr(code))) != fold(chr(code))
    ]
    assert changed == []


def test_a_person_name_loses_only_empty_trailing_components() -> None:
    assert fold_person_name('Doe^John^^^') == 'doe^john'
    assert fold_person_name('Yamada^Tarou^^=山田^太郎^^=') == 'yamada^tarou=山田^太郎'
    assert fold_person_name('=山田^太郎') == '=山田^太郎'  # no alphabetic group: the ideographic one stays second


def test_a_pattern_keeps_its_wildcards_and_folds_what_lies_between() -> None:
    assert pattern_pieces('ÄN*s?') == [Piece('an'), Piece('*', True), Piece('s'), Piece('?', True)]
    assert pattern_pieces('＊Ab') == [Piece('*ab')]  # a full-width asterisk folds to '*' but stays a literal
    assert pattern_pieces('AB*', folded=False) == [Piece('AB'), Piece('*', True)]
    assert person_name_pieces('DOE^JOHN^') == [Piece('doe^john')]


def test_patterns_in_east_asian_scripts_are_told_apart() -> None:
    assert ideographic_or_phonetic(pattern_pieces('山田*'))
    assert ideographic_or_phonetic(pattern_pieces('ﾔﾏﾀﾞ*'))
    assert ideographic_or_phonetic(pattern_pieces('홍*'))
    assert not ideographic_or_phonetic(pattern_pieces('Люк*'))
    assert not ideographic_or_phonetic(pattern_pieces('Διον*'))
