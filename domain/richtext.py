"""Rich report text (from the browser's editor) reduced to a few harmless tags, and to plain text.

Findings and impression are stored as HTML. Whatever arrives is rebuilt from a whitelist of formatting
tags without any attributes, every text node escaped, so neither the editor nor the PDF can run script
or fetch anything.
"""

import html
from html.parser import HTMLParser

ALLOWED = frozenset(
    {
        'b',
        'strong',
        'i',
        'em',
        'u',
        's',
        'strike',
        'p',
        'br',
        'div',
        'ul',
        'ol',
        'li',
        'h3',
        'h4',
        'blockquote',
        'sub',
        'sup',
    }
)
VOID = frozenset({'br'})
DROP_CONTENT = frozenset({'script', 'style', 'iframe', 'object', 'template', 'head', 'title'})
BLOCKS = frozenset({'p', 'div', 'li', 'br', 'h3', 'h4', 'blockquote', 'ul', 'ol'})


def clean(markup: str) -> str:
    """The markup with only whitelisted tags, no attributes and every text escaped."""
    cleaner = _Cleaner()
    cleaner.feed(markup or '')
    cleaner.close()
    return cleaner.result()


def plain(markup: str) -> str:
    """The text of the markup, one line per block, for search, logs-free summaries and checks."""
    reader = _Text()
    reader.feed(markup or '')
    reader.close()
    lines = (' '.join(line.split()) for line in ''.join(reader.parts).splitlines())
    return '\n'.join(line for line in lines if line)


def is_empty(markup: str) -> bool:
    """True when the markup holds no visible text."""
    return not plain(markup).strip()


def from_text(text: str) -> str:
    """Plain text (a template's normal sentence, a typed value) as safe markup, one paragraph per line."""
    return ''.join(f'<p>{html.escape(line)}</p>' for line in text.splitlines() if line.strip())


class _Cleaner(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.open: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in DROP_CONTENT:
            self.skipping += 1
        elif not self.skipping and tag in ALLOWED:
            self.out.append(f'<{tag}>')
            if tag not in VOID:
                self.open.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if not self.skipping and tag in VOID:
            self.out.append(f'<{tag}>')

    def handle_endtag(self, tag: str) -> None:
        if tag in DROP_CONTENT:
            self.skipping = max(0, self.skipping - 1)
        elif not self.skipping and tag in self.open:
            while self.open:
                last = self.open.pop()
                self.out.append(f'</{last}>')
                if last == tag:
                    break

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.out.append(html.escape(data, quote=False))

    def result(self) -> str:
        return ''.join(self.out) + ''.join(f'</{tag}>' for tag in reversed(self.open))


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in DROP_CONTENT:
            self.skipping += 1
        elif tag in BLOCKS:
            self.parts.append('\n')

    def handle_endtag(self, tag: str) -> None:
        if tag in DROP_CONTENT:
            self.skipping = max(0, self.skipping - 1)
        elif tag in BLOCKS:
            self.parts.append('\n')

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(data)
