"""Writing multipart/related answers (RFC 2387, PS3.18 8.6.1.2) part by part, so nothing large is held in memory.

`body(parts)` yields the bytes of the whole message from parts that each yield their own bytes; the boundary is
random per answer. `Content-Encoding: identity` keeps the web server's gzip layer off these answers: DICOM and
pixel data barely compress, and compressing them would cost the transfer rate.
"""

import logging
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

IDENTITY = {'Content-Encoding': 'identity'}


@dataclass
class Part:
    """One part: its Content-Type, an optional Content-Location, and its bytes (produced when written)."""

    content_type: str
    chunks: Iterable[bytes]
    location: str = ''
    headers: dict[str, str] = field(default_factory=dict)


def new_boundary() -> str:
    """A boundary that cannot occur in the parts (122 random bits)."""
    return f'clinicpacs-{uuid.uuid4().hex}'


def content_type(part_type: str, boundary: str, transfer_syntax: str = '') -> str:
    """The answer's Content-Type: multipart/related with the parts' type (and transfer syntax) and the boundary."""
    syntax = f'; transfer-syntax={transfer_syntax}' if transfer_syntax else ''
    return f'multipart/related; type="{part_type}"{syntax}; boundary={boundary}'


def body(parts: Iterable[Part], boundary: str) -> Iterator[bytes]:
    """The message: each part's head and bytes between delimiters, then the close delimiter."""
    delimiter = f'--{boundary}\r\n'.encode()
    first = True
    for part in parts:
        head = [f'Content-Type: {part.content_type}']
        if part.location:
            head.append(f'Content-Location: {part.location}')
        head.extend(f'{name}: {value}' for name, value in part.headers.items())
        yield (b'' if first else b'\r\n') + delimiter + '\r\n'.join(head).encode() + b'\r\n\r\n'
        first = False
        yield from part.chunks
    yield f'\r\n--{boundary}--\r\n'.encode()
