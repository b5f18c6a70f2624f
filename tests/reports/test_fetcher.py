"""The PDF's URL fetcher serves only the app's own files and the images handed in; rich text is whitelisted."""

import pytest

from domain import richtext
from reports.pdf import Assets, css_string
from reports.printing import AppFetcher


@pytest.mark.parametrize(
    'url',
    [
        'file:///etc/passwd',
        'http://example.com/logo.png',
        'app:static/../pdf.py',
        'app:fonts/.hidden',
        'app:image/7',
        'app:logo',
        'data:image/png;base64,AAAA',
    ],
)
def test_anything_but_the_reports_own_files_is_refused(url: str) -> None:
    with pytest.raises(ValueError, match='refused'):
        AppFetcher(Assets(images=[b'png'])).fetch(url)


def test_the_stylesheet_fonts_logo_and_images_are_served() -> None:
    fetcher = AppFetcher(Assets(logo=b'\x89PNG logo', images=[b'first', None]))
    assert b'@font-face' in fetcher.fetch('app:static/report.css').read()
    assert fetcher.fetch('app:fonts/DejaVuSans.ttf').read()[:4] == b'\x00\x01\x00\x00'
    assert fetcher.fetch('app:logo').read() == b'\x89PNG logo'
    assert fetcher.fetch('app:image/0').read() == b'first'
    with pytest.raises(ValueError):
        fetcher.fetch('app:image/1')


def test_rich_text_keeps_formatting_and_drops_everything_active() -> None:
    dirty = (
        '<p onclick="x()">Liver <b>normal</b><img src="file:///etc/passwd"><script>alert(1)</script>'
        '<a href="http://x">link</a> 5 < 6</p><ul><li>one'
    )
    assert richtext.clean(dirty) == '<p>Liver <b>normal</b>link 5 &lt; 6</p><ul><li>one</li></ul>'
    assert richtext.plain(dirty) == 'Liver normallink 5 < 6\none'


def test_footer_text_cannot_break_out_of_its_css_string() -> None:
    assert css_string('a"; } body { display: none') == 'a\\22 ; \\7d  body \\7b  display: none'
