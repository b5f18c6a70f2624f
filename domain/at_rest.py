"""Encryption at rest: stored files (DICOM, thumbnails, PDFs) written sealed with the installation's data key.

The data key is 32 random bytes kept in the data directory only wrapped (`keys/at-rest.sealed`, a sealed file
whose recipient is the key-file key). The key file (`PACS_AT_REST_KEY_FILE`) lies apart from the data disk, so a
stolen data disk or a copy of the data directory alone reads nothing; replacing the key file means re-wrapping
the data key only. A stored file is sealed (see `domain.sealed`) or plain: readers go through `open_read`, which
tells them apart by the magic line, so a store that turned encryption on later keeps its older files readable.
With encryption off and no key file, reading is a plain `open` and nothing else.
"""

import base64
import contextlib
import io
import logging
import os
import secrets
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

from . import sealed
from .errors import N_, InvalidInput

log = logging.getLogger(__name__)

WRAPPED_DATA_KEY = 'keys/at-rest.sealed'  # relative to the data directory; useless without the key file
KEY_FILE_PREFIX = 'clinicpacs-at-rest-key:'


class KeyProblem(InvalidInput):
    """The at-rest key file is missing, malformed, in the wrong place or does not open the data key."""


class Writable(Protocol):
    def write(self, data: bytes | bytearray | memoryview, /) -> int: ...


@dataclass
class _State:
    encrypt: bool = False
    key: sealed.SecretKey | None = None  # known whenever a key file is configured: sealed files stay readable
    configured: tuple[Path, bool, Path | None] | None = None  # the last configure's arguments, for reload()


_state = _State()


def configure(data_dir: Path, *, encrypt: bool, key_file: Path | None) -> None:
    """Load (or on first start create) the key file and the wrapped data key; KeyProblem says what is wrong."""
    data_dir = Path(data_dir).resolve()
    wrapped = data_dir / WRAPPED_DATA_KEY
    _state.encrypt, _state.key, _state.configured = False, None, (data_dir, encrypt, key_file)
    if key_file is None:
        if encrypt:
            raise KeyProblem(N_('Encryption at rest needs a key file: set PACS_AT_REST_KEY_FILE'))
        if wrapped.exists():
            raise KeyProblem(
                N_('This data directory holds encrypted files: set PACS_AT_REST_KEY_FILE to its key file to read them')
            )
        return
    key_file = Path(key_file).expanduser().resolve()
    if key_file == data_dir or data_dir in key_file.parents:
        raise KeyProblem(N_('The key file {path} must lie outside the data directory', path=str(key_file)))
    if not key_file.exists():
        if wrapped.exists():
            raise KeyProblem(
                N_('The key file {path} is missing: the encrypted files cannot be read without it', path=str(key_file))
            )
        if not encrypt:
            raise KeyProblem(N_('The key file {path} does not exist', path=str(key_file)))
        _create_key_file(key_file)
    file_key = sealed.SecretKey(_read_key_file(key_file))
    data_key = _data_key(wrapped, file_key, key_file, create=encrypt)
    _state.key = sealed.SecretKey(data_key) if data_key is not None else None
    _state.encrypt = encrypt


def rewrap(data_dir: Path, key_file: Path, new_key_file: Path) -> None:
    """Wrap this data directory's data key with a new key file (made now, 0600); the stored files stay as they are.

    The old key file opens nothing afterwards; the new one must be kept (and backed up) in its place.
    """
    wrapped = Path(data_dir).resolve() / WRAPPED_DATA_KEY
    data_key = _data_key(wrapped, sealed.SecretKey(_read_key_file(Path(key_file))), Path(key_file), create=False)
    if data_key is None:
        raise KeyProblem(N_('This data directory has no data key to wrap'))
    new_key_file = Path(new_key_file).expanduser().resolve()
    if new_key_file.exists():
        raise KeyProblem(N_('The key file {path} already exists', path=str(new_key_file)))
    _create_key_file(new_key_file)
    rewrapped = sealed.seal_bytes(data_key, sealed.SecretKey(_read_key_file(new_key_file)))
    temporary = wrapped.with_name(f'.{wrapped.name}.{secrets.token_hex(8)}.part')
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, 'wb') as handle:
        handle.write(rewrapped)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, wrapped)
    log.warning('the at-rest data key is now wrapped by %s; the previous key file no longer opens it', new_key_file)


def reload() -> None:
    """Configure again as at start (after a restore put another wrapped data key into the data directory)."""
    if _state.configured is not None:
        data_dir, encrypt, key_file = _state.configured
        configure(data_dir, encrypt=encrypt, key_file=key_file)


def forget() -> None:
    """Drop the loaded data key: encryption off, every file read plain (tests; a process that re-configures)."""
    _state.encrypt, _state.key, _state.configured = False, None, None


def enabled() -> bool:
    """True when new stored files are written sealed."""
    return _state.encrypt


def has_key() -> bool:
    """True when a data key is loaded, so a stored file may be sealed (else every file is plain)."""
    return _state.key is not None


def open_read(path: Path) -> BinaryIO:
    """A stored file opened for reading, seekable, as plaintext: decrypted when it is sealed, plain otherwise."""
    path = Path(path)
    raw = path.open('rb')
    if _state.key is None:
        return raw
    try:
        if raw.read(len(sealed.MAGIC)) != sealed.MAGIC:
            raw.seek(0)
            return raw
        raw.seek(0)
        return sealed.SealedReader(raw, _state.key, name=path.name)  # type: ignore[return-value]
    except BaseException:
        raw.close()
        raise


def read_bytes(path: Path) -> bytes:
    """A stored file's plaintext, whole."""
    with open_read(path) as reader:
        return reader.read()


def plain_size(path: Path) -> int:
    """The size of a stored file's plaintext."""
    if _state.key is None:
        return path.stat().st_size
    with open_read(path) as reader:
        return reader.seek(0, io.SEEK_END)


class NewFile:
    """A new file written a piece at a time (a request's scratch part): sealed when encryption is on; `close()`
    ends it (a file never closed stays unfinished and does not open)."""

    def __init__(self, path: Path, mode: int = 0o600) -> None:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        self._raw = os.fdopen(fd, 'wb', buffering=1024 * 1024)
        self._sealed = sealed.SealedWriter(self._raw, [_state.key]) if _state.encrypt and _state.key else None

    def write(self, data: bytes | bytearray | memoryview) -> int:
        return (self._sealed or self._raw).write(data)

    def close(self) -> None:
        if not self._raw.closed:
            try:
                if self._sealed is not None:
                    self._sealed.close()
            finally:
                self._raw.close()


@contextlib.contextmanager
def creating(path: Path, mode: int = 0o600, *, durable: bool = True) -> Iterator[Writable]:
    """A new file (it must not exist) to write a stored file's plaintext into: sealed when encryption is on.

    The file is flushed to disk (fsync, unless not `durable`: a cache) when the block ends; on any error it is removed.
    """
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, 'wb', buffering=1024 * 1024) as raw:
            if _state.encrypt and _state.key is not None:
                with sealed.sealing(raw, _state.key) as writer:
                    yield writer
            else:
                yield raw
            raw.flush()
            if durable:
                os.fsync(raw.fileno())
    except BaseException:
        path.unlink(missing_ok=True)
        raise


def write_new(path: Path, data: bytes, mode: int = 0o600, *, durable: bool = True) -> None:
    """Write a new stored file whole (sealed when encryption is on), fsync'd unless not `durable`."""
    with creating(path, mode, durable=durable) as writer:
        writer.write(data)


# --- the key file and the wrapped data key ----------------------------------------------------------------------


def _create_key_file(key_file: Path) -> None:
    if not key_file.parent.is_dir():
        raise KeyProblem(N_('The folder of the key file {path} does not exist', path=str(key_file)))
    text = f'{KEY_FILE_PREFIX}{base64.urlsafe_b64encode(secrets.token_bytes(sealed.KEY_BYTES)).decode()}\n'
    try:
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return  # another process of this installation (web, worker) made it just now
    with os.fdopen(fd, 'w') as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    log.warning(
        'created the at-rest key file %s: keep it off the data disk and in the backup of keys; without it the stored '
        'files cannot be read',
        key_file,
    )


def _read_key_file(key_file: Path) -> bytes:
    problem = KeyProblem(N_('The key file {path} is not a ClinicPACS at-rest key file', path=str(key_file)))
    if not key_file.is_file():
        raise problem
    mode = stat.S_IMODE(key_file.stat().st_mode)
    if mode & 0o077:
        log.warning('the at-rest key file %s was readable by others (%o); made it 0600', key_file, mode)
        key_file.chmod(0o600)
    text = key_file.read_text(encoding='ascii', errors='replace').strip()
    if not text.startswith(KEY_FILE_PREFIX):
        raise problem
    try:
        key = base64.urlsafe_b64decode(text[len(KEY_FILE_PREFIX) :])
    except ValueError:
        raise problem from None
    if len(key) != sealed.KEY_BYTES:
        raise problem
    return key


def _data_key(wrapped: Path, file_key: sealed.SecretKey, key_file: Path, *, create: bool) -> bytes | None:
    if wrapped.exists():
        try:
            key = sealed.open_bytes(wrapped.read_bytes(), file_key)
        except sealed.WrongKey:
            raise KeyProblem(
                N_('The key file {path} does not open the data key of this data directory', path=str(key_file))
            ) from None
        except (sealed.Tampered, sealed.NotSealed):
            raise KeyProblem(N_('The wrapped data key {path} is damaged', path=str(wrapped))) from None
        if len(key) != sealed.KEY_BYTES:
            raise KeyProblem(N_('The wrapped data key {path} is damaged', path=str(wrapped)))
        return key
    if not create:
        return None  # nothing was ever sealed here, and encryption stays off
    key = secrets.token_bytes(sealed.KEY_BYTES)
    if create:
        wrapped.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        temporary = wrapped.with_name(f'.{wrapped.name}.{secrets.token_hex(8)}.part')
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, 'wb') as handle:
                handle.write(sealed.seal_bytes(key, file_key))
                handle.flush()
                os.fsync(handle.fileno())
            os.link(temporary, wrapped)  # never replaces a data key another process created meanwhile
        except FileExistsError:
            return _data_key(wrapped, file_key, key_file, create=False)
        finally:
            temporary.unlink(missing_ok=True)
        log.info('created the at-rest data key (wrapped by the key file) in %s', wrapped)
    return key
