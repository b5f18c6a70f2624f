"""Sealed files: streaming authenticated encryption for backups and for files kept encrypted at rest.

A sealed file is a magic line, a header and a payload. The header holds a random nonce, one stanza per
recipient (each wraps the same random 32-byte file key) and an HMAC over all of it with a key derived from
the file key, so a changed header is found before any payload is trusted. The payload is the plaintext in
segments of 64 KiB, each sealed with AES-256-GCM under a payload key derived (HKDF-SHA256) from the file key
and the header nonce; a segment's GCM nonce is its 11-byte counter and a 1-byte "last segment" flag (as age's
STREAM does), so reordered, dropped, truncated or appended segments fail authentication. An empty payload
still has one (empty) last segment.

Recipients: `Passphrase` (scrypt), `PublicKey` (X25519 with an ephemeral key and HKDF) and `SecretKey` (a
32-byte key kept by the server, for encryption at rest). Identities open with the same classes, with
`PrivateKey` for a public key's private half, or with `FileKey`, the file key the writer saw (`.file_key`).
"""

import base64
import hashlib
import hmac
import io
import secrets
import struct
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from .errors import N_, InvalidInput

MAGIC = b'clinicpacs-sealed/v1\n'
SEGMENT = 64 * 1024  # plaintext bytes per segment
TAG = 16  # AES-GCM tag bytes at the end of every sealed segment
SCRYPT_LOG_N = 15  # work factor for new passphrase stanzas (stored in each stanza; tests may lower it)
SCRYPT_R, SCRYPT_P = 8, 1
KEY_BYTES = 32
PUBLIC_PREFIX, PRIVATE_PREFIX = 'clinicpacs-pub-', 'CLINICPACS-SECRET-'

_NONCE_BYTES = 16
_MAC_BYTES = 32
_CHECK_BYTES = 16
_WRAPPED_BYTES = KEY_BYTES + TAG
_PASSPHRASE, _X25519, _SECRET = 1, 2, 3
_STANZA_BYTES = {
    _PASSPHRASE: 16 + 3 + _CHECK_BYTES + _WRAPPED_BYTES,
    _X25519: 32 + _CHECK_BYTES + _WRAPPED_BYTES,
    _SECRET: 16 + _CHECK_BYTES + _WRAPPED_BYTES,
}
_MAX_STANZAS = 16
_LOG_N_RANGE = range(10, 23)  # what an opener agrees to compute: a changed header must not cost gigabytes
_ZERO_NONCE = bytes(12)  # every wrapping key is used exactly once (fresh salt or ephemeral key)
_LAST_SEGMENTS_KEPT = 2


class WrongKey(InvalidInput):
    """No recipient stanza of the file opens with the given passphrase or key."""

    def __init__(self, name: str | None = None) -> None:
        if name:
            super().__init__(N_('The passphrase or key does not open {name}', name=name))
        else:
            super().__init__(N_('The passphrase or key does not open this backup'))


class Tampered(InvalidInput):
    """The file's header or payload fails authentication: it was changed, cut short or extended."""

    def __init__(self, name: str | None = None) -> None:
        if name:
            super().__init__(N_('{name} has been changed or is incomplete', name=name))
        else:
            super().__init__(N_('The backup has been changed or is incomplete'))


class NotSealed(InvalidInput):
    """The file does not start with the sealed-file magic line (a plain file)."""

    def __init__(self, name: str | None = None) -> None:
        if name:
            super().__init__(N_('{name} is not an encrypted ClinicPACS file', name=name))
        else:
            super().__init__(N_('This is not an encrypted ClinicPACS file'))


# --- recipients and identities --------------------------------------------------------------------------------


@dataclass(frozen=True, repr=False)
class Passphrase:
    """A passphrase: seals (scrypt-derived key wrapping the file key) and opens what it sealed."""

    text: str

    def __post_init__(self) -> None:
        if not self.text:
            raise InvalidInput(N_('The passphrase must not be empty'))

    def __repr__(self) -> str:
        return 'Passphrase(***)'


@dataclass(frozen=True)
class PublicKey:
    """An X25519 public key as text (`clinicpacs-pub-…`): seals for whoever holds the private half."""

    text: str
    raw: bytes = field(init=False, compare=False)

    def __post_init__(self) -> None:
        raw = _decode_key(self.text, PUBLIC_PREFIX, N_('This is not a ClinicPACS public key'))
        object.__setattr__(self, 'raw', raw)


@dataclass(frozen=True, repr=False)
class PrivateKey:
    """An X25519 private key as text (`CLINICPACS-SECRET-…`): opens what was sealed to its public half."""

    text: str
    raw: bytes = field(init=False, compare=False)

    def __post_init__(self) -> None:
        raw = _decode_key(self.text, PRIVATE_PREFIX, N_('This is not a ClinicPACS private key'))
        object.__setattr__(self, 'raw', raw)

    def __repr__(self) -> str:
        return 'PrivateKey(***)'

    @property
    def public(self) -> PublicKey:
        """The public half, as text a sealer can use."""
        private = X25519PrivateKey.from_private_bytes(self.raw)
        return PublicKey(_encode_key(_public_bytes(private), PUBLIC_PREFIX))


@dataclass(frozen=True, repr=False)
class SecretKey:
    """A 32-byte key the server keeps (the at-rest data key): seals and opens with the same bytes."""

    key: bytes

    def __post_init__(self) -> None:
        if len(self.key) != KEY_BYTES:
            raise ValueError('a secret key is 32 bytes')

    def __repr__(self) -> str:
        return 'SecretKey(***)'


@dataclass(frozen=True, repr=False)
class FileKey:
    """One file's own key (a writer's `.file_key`): opens that file without any stanza."""

    key: bytes

    def __post_init__(self) -> None:
        if len(self.key) != KEY_BYTES:
            raise ValueError('a file key is 32 bytes')

    def __repr__(self) -> str:
        return 'FileKey(***)'


Recipient = Passphrase | PublicKey | SecretKey
Identity = Passphrase | PrivateKey | SecretKey | FileKey


def generate_keypair() -> tuple[str, str]:
    """A new X25519 key pair as texts: (public `clinicpacs-pub-…`, private `CLINICPACS-SECRET-…`)."""
    private = X25519PrivateKey.generate()
    raw_private = private.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    return _encode_key(_public_bytes(private), PUBLIC_PREFIX), _encode_key(raw_private, PRIVATE_PREFIX)


# --- writing ----------------------------------------------------------------------------------------------------


class SealedWriter:
    """Writes plaintext into a sealed file, a segment at a time; `close()` seals the last segment."""

    def __init__(self, raw: BinaryIO, recipients: Sequence[Recipient]) -> None:
        if not recipients:
            raise ValueError('sealing needs at least one recipient')
        self.file_key = secrets.token_bytes(KEY_BYTES)
        self._raw, self._buffer, self._counter, self._closed = raw, bytearray(), 0, False
        nonce = secrets.token_bytes(_NONCE_BYTES)
        body = nonce + bytes([len(recipients)]) + b''.join(_stanza(r, self.file_key) for r in recipients)
        mac = hmac.digest(_mac_key(self.file_key), MAGIC + body, 'sha256')
        raw.write(MAGIC + body + mac)
        self._aead = AESGCM(_payload_key(self.file_key, nonce))

    def write(self, data: bytes | bytearray | memoryview) -> int:
        """Add plaintext; whole segments are sealed and written as soon as more follows them."""
        if self._closed:
            raise ValueError('write to a closed sealed file')
        self._buffer += data
        if len(self._buffer) > SEGMENT:  # keep the tail: the last segment is only known at close
            done = 0
            with memoryview(self._buffer) as view:
                while len(view) - done > SEGMENT:
                    self._seal(view[done : done + SEGMENT], last=False)
                    done += SEGMENT
            del self._buffer[:done]  # one move of the tail per write, however large the write
        return len(data)

    def close(self) -> None:
        """Seal the last (possibly empty) segment; the raw file stays open for the caller."""
        if not self._closed:
            self._seal(bytes(self._buffer), last=True)
            self._buffer.clear()
            self._closed = True

    def _seal(self, plaintext: bytes | memoryview, *, last: bool) -> None:
        self._raw.write(self._aead.encrypt(_segment_nonce(self._counter, last), plaintext, None))
        self._counter += 1


@contextmanager
def sealing(raw: BinaryIO, recipient: Recipient | Sequence[Recipient]) -> Iterator[SealedWriter]:
    """Seal what is written inside the block to `raw` for the recipient(s); on an error the file stays unfinished."""
    recipients = list(recipient) if isinstance(recipient, Sequence) else [recipient]
    writer = SealedWriter(raw, recipients)
    yield writer
    writer.close()


def seal_bytes(data: bytes, recipient: Recipient | Sequence[Recipient]) -> bytes:
    """The sealed form of a small plaintext, whole."""
    out = io.BytesIO()
    with sealing(out, recipient) as writer:
        writer.write(data)
    return out.getvalue()


# --- reading ----------------------------------------------------------------------------------------------------


def is_sealed(raw: BinaryIO) -> bool:
    """True when the file starts with the sealed magic line; reads only that much (seeks back if it can)."""
    start = raw.tell() if raw.seekable() else None
    head = _read_exactly(raw, len(MAGIC))
    if start is not None:
        raw.seek(start)
    return head == MAGIC


class _Opened(io.RawIOBase):
    """A sealed file's plaintext, read front to back (tarfile's `r|` needs no more)."""

    def __init__(self, raw: BinaryIO, identity: Identity, name: str | None) -> None:
        super().__init__()
        self._raw, self._name = raw, name
        self._aead, _ = _read_header(raw, identity, name)
        self._counter, self._pending, self._done = 0, b'', False
        self._next = _read_exactly(raw, SEGMENT + TAG)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: 'memoryview | bytearray') -> int:  # type: ignore[override]
        view = memoryview(buffer).cast('B')
        while not self._pending and not self._done:
            self._pending = self._next_segment()
        count = min(len(view), len(self._pending))
        view[:count] = self._pending[:count]
        self._pending = self._pending[count:]
        return count

    def _next_segment(self) -> bytes:
        current = self._next
        if len(current) < TAG:
            raise Tampered(self._name)
        following = _read_exactly(self._raw, SEGMENT + TAG) if len(current) == SEGMENT + TAG else b''
        last = not following
        self._next = following
        try:
            plaintext = self._aead.decrypt(_segment_nonce(self._counter, last), current, None)
        except InvalidTag:
            raise Tampered(self._name) from None
        self._counter += 1
        self._done = last
        return plaintext


def opening(raw: BinaryIO, identity: Identity, *, name: str | None = None) -> io.BufferedReader:
    """The plaintext of a sealed file as a readable; raises WrongKey, Tampered or NotSealed (`name` for messages)."""
    return io.BufferedReader(_Opened(raw, identity, name), SEGMENT)


def open_bytes(data: bytes, identity: Identity, *, name: str | None = None) -> bytes:
    """The plaintext of a small sealed file held in memory."""
    with SealedReader(io.BytesIO(data), identity, name=name) as reader:
        return reader.read()


class SealedReader(io.RawIOBase):
    """Random access to a sealed file's plaintext over a seekable raw file: only the segments read are decrypted.

    The size comes from the raw file's length; the last segment is checked when opening, so a file cut short or
    extended is refused at once. The raw file is closed with the reader.
    """

    def __init__(self, raw: BinaryIO, identity: Identity, *, name: str | None = None) -> None:
        super().__init__()
        self._raw, self._name, self._position = raw, name, 0
        self._aead, self._payload_start = _read_header(raw, identity, name)
        sealed_length = raw.seek(0, io.SEEK_END) - self._payload_start
        self._segments, tail = divmod(sealed_length, SEGMENT + TAG)
        if tail:
            if tail < TAG:
                raise Tampered(name)
            self._segments += 1
        if self._segments == 0:
            raise Tampered(name)
        self._cache: OrderedDict[int, bytes] = OrderedDict()
        last = self._segment(self._segments - 1)
        self.size = (self._segments - 1) * SEGMENT + len(last)

    @property
    def name(self) -> str:
        return self._name or ''

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self.size}[whence]
        if base + offset < 0:
            raise ValueError('negative seek position')
        self._position = base + offset
        return self._position

    def read(self, size: int | None = -1) -> bytes:
        end = self.size if size is None or size < 0 else min(self.size, self._position + size)
        parts = []
        while self._position < end:
            index, within = divmod(self._position, SEGMENT)
            plaintext = self._segment(index)
            part = plaintext[within : within + end - self._position]
            parts.append(part)
            self._position += len(part)
        return b''.join(parts)

    def readall(self) -> bytes:
        return self.read(-1)

    def readinto(self, buffer: 'memoryview | bytearray') -> int:  # type: ignore[override]
        view = memoryview(buffer).cast('B')
        data = self.read(len(view))
        view[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._raw.close()
            self._cache.clear()
        super().close()

    def _segment(self, index: int) -> bytes:
        if (plaintext := self._cache.get(index)) is not None:
            self._cache.move_to_end(index)
            return plaintext
        self._raw.seek(self._payload_start + index * (SEGMENT + TAG))
        sealed = _read_exactly(self._raw, SEGMENT + TAG)
        last = index == self._segments - 1
        try:
            plaintext = self._aead.decrypt(_segment_nonce(index, last), sealed, None)
        except InvalidTag:
            raise Tampered(self._name) from None
        self._cache[index] = plaintext
        while len(self._cache) > _LAST_SEGMENTS_KEPT:
            self._cache.popitem(last=False)
        return plaintext


# --- the header -------------------------------------------------------------------------------------------------


def _stanza(recipient: Recipient, file_key: bytes) -> bytes:
    if isinstance(recipient, Passphrase):
        salt = secrets.token_bytes(16)
        params = bytes([SCRYPT_LOG_N, SCRYPT_R, SCRYPT_P])
        secret = _scrypt(recipient.text, salt, SCRYPT_LOG_N, SCRYPT_R, SCRYPT_P)
        kind, head = _PASSPHRASE, salt + params
    elif isinstance(recipient, PublicKey):
        ephemeral = X25519PrivateKey.generate()
        ephemeral_public = _public_bytes(ephemeral)
        shared = ephemeral.exchange(X25519PublicKey.from_public_bytes(recipient.raw))
        secret = _hkdf(shared, ephemeral_public + recipient.raw, b'clinicpacs-sealed x25519', KEY_BYTES)
        kind, head = _X25519, ephemeral_public
    else:
        salt = secrets.token_bytes(16)
        secret = _hkdf(recipient.key, salt, b'clinicpacs-sealed secret key', KEY_BYTES)
        kind, head = _SECRET, salt
    wrap_key, check = _wrapping(secret, kind)
    wrapped = AESGCM(wrap_key).encrypt(_ZERO_NONCE, file_key, bytes([kind]))
    body = head + check + wrapped
    return struct.pack('>BH', kind, len(body)) + body


def _read_header(raw: BinaryIO, identity: Identity, name: str | None) -> tuple[AESGCM, int]:
    """Check the magic line, find the file key through the identity, verify the header MAC; the payload AEAD."""
    start = raw.tell() if raw.seekable() else 0
    if _read_exactly(raw, len(MAGIC)) != MAGIC:
        raise NotSealed(name)
    nonce, count = _read_exactly(raw, _NONCE_BYTES), _read_exactly(raw, 1)
    if len(nonce) < _NONCE_BYTES or not count or not 1 <= count[0] <= _MAX_STANZAS:
        raise Tampered(name)
    stanzas, header = [], bytearray(MAGIC + nonce + count)
    for _ in range(count[0]):
        prefix = _read_exactly(raw, 3)
        if len(prefix) < 3:
            raise Tampered(name)
        kind, length = struct.unpack('>BH', prefix)
        if _STANZA_BYTES.get(kind) != length:
            raise Tampered(name)
        body = _read_exactly(raw, length)
        if len(body) < length:
            raise Tampered(name)
        stanzas.append((kind, body))
        header += prefix + body
    mac = _read_exactly(raw, _MAC_BYTES)
    file_key = identity.key if isinstance(identity, FileKey) else _unwrap(stanzas, identity, name)
    if not hmac.compare_digest(mac, hmac.digest(_mac_key(file_key), bytes(header), 'sha256')):
        raise Tampered(name)
    return AESGCM(_payload_key(file_key, nonce)), start + len(header) + _MAC_BYTES


def _unwrap(stanzas: list[tuple[int, bytes]], identity: Identity, name: str | None) -> bytes:
    """The file key from the first stanza this identity matches; WrongKey when none does, Tampered if it won't open."""
    for kind, body in stanzas:
        secret = _stanza_secret(kind, body, identity, name)
        if secret is None:
            continue
        wrap_key, check = _wrapping(secret, kind)
        head = len(body) - _CHECK_BYTES - _WRAPPED_BYTES
        if not hmac.compare_digest(check, body[head : head + _CHECK_BYTES]):
            continue
        try:
            return AESGCM(wrap_key).decrypt(_ZERO_NONCE, body[head + _CHECK_BYTES :], bytes([kind]))
        except InvalidTag:
            raise Tampered(name) from None
    raise WrongKey(name)


def _stanza_secret(kind: int, body: bytes, identity: Identity, name: str | None) -> bytes | None:
    if kind == _PASSPHRASE and isinstance(identity, Passphrase):
        salt, (log_n, r, p) = body[:16], body[16:19]
        if log_n not in _LOG_N_RANGE or not 1 <= r <= 32 or not 1 <= p <= 16:
            raise Tampered(name)
        return _scrypt(identity.text, salt, log_n, r, p)
    if kind == _X25519 and isinstance(identity, PrivateKey):
        ephemeral_public = body[:32]
        private = X25519PrivateKey.from_private_bytes(identity.raw)
        try:
            shared = private.exchange(X25519PublicKey.from_public_bytes(ephemeral_public))
        except ValueError:  # an all-zero shared secret: a point no honest sealer produces
            raise Tampered(name) from None
        return _hkdf(shared, ephemeral_public + _public_bytes(private), b'clinicpacs-sealed x25519', KEY_BYTES)
    if kind == _SECRET and isinstance(identity, SecretKey):
        return _hkdf(identity.key, body[:16], b'clinicpacs-sealed secret key', KEY_BYTES)
    return None


# --- small helpers ----------------------------------------------------------------------------------------------


def _wrapping(secret: bytes, kind: int) -> tuple[bytes, bytes]:
    """The key that wraps the file key, and a check value telling a wrong key from a changed stanza."""
    derived = _hkdf(secret, b'', b'clinicpacs-sealed wrap ' + bytes([kind]), KEY_BYTES + _CHECK_BYTES)
    return derived[:KEY_BYTES], derived[KEY_BYTES:]


def _mac_key(file_key: bytes) -> bytes:
    return _hkdf(file_key, b'', b'clinicpacs-sealed header', KEY_BYTES)


def _payload_key(file_key: bytes, nonce: bytes) -> bytes:
    return _hkdf(file_key, nonce, b'clinicpacs-sealed payload', KEY_BYTES)


def _segment_nonce(counter: int, last: bool) -> bytes:
    if counter >= 1 << 88:
        raise ValueError('sealed file too long')
    return counter.to_bytes(11, 'big') + (b'\x01' if last else b'\x00')


def _hkdf(key: bytes, salt: bytes, info: bytes, length: int) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt or None, info=info).derive(key)


def _scrypt(passphrase: str, salt: bytes, log_n: int, r: int, p: int) -> bytes:
    return Scrypt(salt=salt, length=KEY_BYTES, n=1 << log_n, r=r, p=p).derive(passphrase.encode())


def _public_bytes(private: X25519PrivateKey) -> bytes:
    return private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _encode_key(raw: bytes, prefix: str) -> str:
    checksum = hashlib.sha256(prefix.encode() + raw).digest()[:4]
    return prefix + base64.urlsafe_b64encode(raw + checksum).decode().rstrip('=')


def _decode_key(text: str, prefix: str, problem: str) -> bytes:
    text = text.strip()
    if not text.startswith(prefix):
        raise InvalidInput(problem)
    encoded = text[len(prefix) :]
    try:
        decoded = base64.urlsafe_b64decode(encoded + '=' * (-len(encoded) % 4))
    except ValueError:
        raise InvalidInput(problem) from None
    raw, checksum = decoded[:KEY_BYTES], decoded[KEY_BYTES:]
    if len(decoded) != KEY_BYTES + 4 or hashlib.sha256(prefix.encode() + raw).digest()[:4] != checksum:
        raise InvalidInput(problem)
    return raw


def _read_exactly(raw: BinaryIO, size: int) -> bytes:
    """Up to `size` bytes, fewer only at the end of the file (a pipe may return short reads)."""
    parts, left = [], size
    while left > 0:
        chunk = raw.read(left)
        if not chunk:
            break
        parts.append(chunk)
        left -= len(chunk)
    return b''.join(parts)
