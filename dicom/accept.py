"""What a DICOMweb client accepts (PS3.18 8.7): the Accept header (or the `accept` query parameter) as media ranges.

`multipart/related; type="application/dicom"; transfer-syntax=*` reads as the part type `application/dicom` with
the transfer syntax `*`; a bare `application/dicom` or `*/*` reads the same without the multipart wrapper (the
answer is multipart anyway where PS3.18 says so). Ranges come in the client's order of preference (q, then
position); a range with q=0 is left out.
"""

import logging
from dataclasses import dataclass

from starlette.requests import Request

log = logging.getLogger(__name__)

ANY = frozenset({'*/*', '*', ''})
MAX_RANGES = 50


@dataclass(frozen=True)
class MediaRange:
    """One acceptable representation: the (part) media type and the transfer syntax asked for ('' when none)."""

    media_type: str  # lower case; for multipart/related its `type` parameter ('*/*' when it names none)
    transfer_syntax: str
    multipart: bool

    def names(self, media_type: str) -> bool:
        """True when this range covers the media type (wildcards included)."""
        if self.media_type in ANY:
            return True
        major, _, minor = self.media_type.partition('/')
        return self.media_type == media_type or (minor == '*' and media_type.startswith(f'{major}/'))


class NotAcceptable(Exception):
    """Nothing the client accepts can be given for this resource (406)."""


def ranges(request: Request) -> list[MediaRange]:
    """The request's acceptable media ranges, most preferred first; [*/*] when it names none."""
    header = request.query_params.get('accept') or request.headers.get('accept', '')
    return parse(header)


def parse(header: str) -> list[MediaRange]:
    """Media ranges of an Accept value, most preferred first; [*/*] for an empty one."""
    found: list[tuple[float, int, MediaRange]] = []
    for position, text in enumerate(_split(header)[:MAX_RANGES]):
        media, *parameters = (part.strip() for part in text.split(';'))
        values = {}
        for parameter in parameters:
            name, _, value = parameter.partition('=')
            values[name.strip().lower()] = value.strip().strip('"').strip()
        try:
            quality = float(values.get('q', '1'))
        except ValueError:
            quality = 0.0
        if quality <= 0 or not media:
            continue
        media = media.lower()
        multipart = media == 'multipart/related'
        part_type = values.get('type', '*/*').lower() if multipart else media
        found.append((-quality, position, MediaRange(part_type, values.get('transfer-syntax', ''), multipart)))
    if not header.strip():
        return [MediaRange('*/*', '', False)]
    return [media_range for *_, media_range in sorted(found, key=lambda item: (item[0], item[1]))]


def _split(header: str) -> list[str]:
    """Split at commas outside quoted strings."""
    parts: list[str] = []
    current: list[str] = []
    quoted = False
    for char in header:
        if char == '"':
            quoted = not quoted
        if char == ',' and not quoted:
            parts.append(''.join(current))
            current = []
        else:
            current.append(char)
    parts.append(''.join(current))
    return [part.strip() for part in parts if part.strip()]
