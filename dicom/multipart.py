"""Writing multipart/related answers (RFC 2387, PS3.18 8.6.1.2) part by part, so nothing large is held in memory.

`body(parts)` yields the bytes of the whole message; a part's bytes are its `chunks` and/or a stored `file` read
straight into the answer's buffer when its turn comes. The boundary is random per answer. `length(parts)` is the
message's size when every part's size is known, so the answer can carry a Content-Length instead of being chunked.
`Content-Encoding: identity` keeps the web server's gzip layer off these answers: DICOM and pixel data barely
compress, and compressing them would cost the transfer rate.
"""

import asyncio
import io
import logging
import threading
import uuid
from collections.abc import AsyncIterator, Iterable, Iterator
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

from . import storage

log = logging.getLogger(__name__)

IDENTITY = {'Content-Encoding': 'identity'}
BATCH = 4 * 1024 * 1024
FIRST = 256 * 1024


@dataclass
class Part:
    """One part: its Content-Type, an optional Content-Location, and its bytes (produced when written).

    The bytes are `chunks`, then, if given, the whole `file`; `size` is their total when known (files: their size).
    """

    content_type: str
    chunks: Iterable[bytes] = ()
    location: str = ''
    headers: dict[str, str] = field(default_factory=dict)
    file: Path | None = None
    size: int | None = None


def new_boundary() -> str:
    """A boundary that cannot occur in the parts (122 random bits)."""
    return f'clinicpacs-{uuid.uuid4().hex}'


def content_type(part_type: str, boundary: str, transfer_syntax: str = '') -> str:
    """The answer's Content-Type: multipart/related with the parts' type (and transfer syntax) and the boundary."""
    syntax = f'; transfer-syntax={transfer_syntax}' if transfer_syntax else ''
    return f'multipart/related; type="{part_type}"{syntax}; boundary={boundary}'


def length(parts: list[Part], boundary: str) -> int | None:
    """The size of the whole message, or None when a part's size is not known beforehand."""
    if any(part.size is None for part in parts):
        return None
    heads = sum(len(_head(part, boundary, first=index == 0)) for index, part in enumerate(parts))
    return heads + sum(part.size or 0 for part in parts) + len(_close(boundary))


def body(parts: Iterable[Part], boundary: str, *, batch: int = BATCH) -> Iterator[bytes | memoryview]:
    """The message: each part's head and bytes between delimiters, then the close delimiter.

    The bytes go out in pieces of about `batch` bytes (the first one smaller, so sending starts at once), files read
    straight into them: each piece a streaming answer sends costs a hop to a worker thread and a trip through every
    ASGI layer, and each copy costs the transfer rate.
    """
    buffer, used = bytearray(min(batch, FIRST)), 0
    for piece in _pieces(parts, boundary):
        if isinstance(piece, Path):
            with storage.open_path(piece) as reader:
                while True:
                    if used == len(buffer):
                        yield memoryview(buffer)
                        buffer, used = bytearray(batch), 0
                    read = cast(io.BufferedIOBase, reader).readinto(memoryview(buffer)[used:])
                    if not read:
                        break
                    used += read
            continue
        if used + len(piece) > len(buffer) and used:
            yield memoryview(buffer)[:used]
            buffer, used = bytearray(batch), 0
        if len(piece) >= len(buffer):
            yield piece
            continue
        buffer[used : used + len(piece)] = piece
        used += len(piece)
    if used:
        yield memoryview(buffer)[:used]


async def read_ahead(pieces: Iterator[bytes | memoryview], depth: int = 2) -> AsyncIterator[bytes | memoryview]:
    """The pieces, made on a thread of their own while the ones before are sent (disk reads overlap the network).

    A client that goes away stops the thread at its next piece; the files it had open are closed.
    """
    loop = asyncio.get_running_loop()
    ready: asyncio.Queue[bytes | memoryview | BaseException | None] = asyncio.Queue(depth)
    stop = threading.Event()

    def make() -> None:
        try:
            for piece in pieces:
                if stop.is_set():
                    return
                asyncio.run_coroutine_threadsafe(ready.put(piece), loop).result()
            ended: BaseException | None = None
        except BaseException as error:  # handed to the event loop, which raises it in the answer
            ended = error
        finally:
            close = getattr(pieces, 'close', None)
            if close is not None:
                close()
        if not stop.is_set():
            with suppress(RuntimeError):  # the event loop has closed: nobody is waiting any more
                asyncio.run_coroutine_threadsafe(ready.put(ended), loop).result()

    threading.Thread(target=make, name='multipart-read-ahead', daemon=True).start()
    try:
        while True:
            item = await ready.get()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while not ready.empty():
            ready.get_nowait()


def _pieces(parts: Iterable[Part], boundary: str) -> Iterator[bytes | Path]:
    first = True
    for part in parts:
        yield _head(part, boundary, first=first)
        first = False
        yield from part.chunks
        if part.file is not None:
            yield part.file
    yield _close(boundary)


def _head(part: Part, boundary: str, *, first: bool) -> bytes:
    lines = [f'--{boundary}', f'Content-Type: {part.content_type}']
    if part.location:
        lines.append(f'Content-Location: {part.location}')
    lines.extend(f'{name}: {value}' for name, value in part.headers.items())
    return (b'' if first else b'\r\n') + '\r\n'.join(lines).encode() + b'\r\n\r\n'


def _close(boundary: str) -> bytes:
    return f'\r\n--{boundary}--\r\n'.encode()
