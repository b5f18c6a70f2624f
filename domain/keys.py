"""Keys the server keeps outside its database: random bytes in files of the data directory, readable only by it.

`key('audit')` is the same 32 bytes in every process of one installation; the file is created (0600) on first
use. The database never holds these, so someone who can write to the database alone cannot forge what they sign.
"""

import os
import secrets
from pathlib import Path

KEY_BYTES = 32
_config: dict[str, Path] = {}


def configure(data_dir: Path) -> None:
    """Keep keys under `data_dir`/keys (called at start-up with PACS_DATA_DIR)."""
    _config['dir'] = Path(data_dir) / 'keys'


def key_dir() -> Path:
    """The folder of the key files (0700)."""
    if 'dir' not in _config:
        raise RuntimeError('keys not configured: call keys.configure(data_dir) first')
    return _config['dir']


def key(name: str) -> bytes:
    """The named key, created at random on first use; the same bytes for every process sharing the data dir."""
    folder = key_dir()
    path = folder / f'{name}.key'
    try:
        return bytes.fromhex(path.read_text().strip())
    except FileNotFoundError:
        pass
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    candidate = folder / f'.{name}.{secrets.token_hex(4)}.tmp'
    fd = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, 'w') as handle:
        handle.write(secrets.token_hex(KEY_BYTES))
        handle.flush()
        os.fsync(handle.fileno())
    try:
        os.link(candidate, path)  # fails if another process made it first: theirs wins
    except FileExistsError:
        pass
    finally:
        candidate.unlink()
    return bytes.fromhex(path.read_text().strip())
