"""Making a file system change last: a folder flushed to disk after a file was created, renamed or removed in it."""

import os
from pathlib import Path


def fsync_directory(folder: Path) -> None:
    """Flush the folder's entries (a rename or new file in it survives a power cut once this returns)."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
