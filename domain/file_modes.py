"""Private files: the data directory is 0700 and everything in it 0600, checked and fixed at start-up.

The database, DICOM files, thumbnails, PDFs, keys, backups and the TLS key are patient data or secrets; only the
server's own account may read them. `serve`, `worker` and `scp` set umask 077 before they write anything, and then
walk the data directory: directories become 0700, files 0600. Anything looser (an older version, a copy, a restore
from elsewhere) is fixed and named in one WARNING line with a count, never path by path. Symbolic links are neither
followed nor changed: where one points is its owner's business.
"""

import logging
import os
import stat
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

DIRECTORY_MODE, FILE_MODE = 0o700, 0o600
UMASK = 0o077


@dataclass(frozen=True)
class ModeCheck:
    """What the start-up walk found."""

    checked: int  # directories and files looked at
    fixed: int  # of those, how many were open to others (or executable) and were made private
    unfixable: int  # looser ones whose mode could not be changed (not this account's)


def make_private(data_dir: Path) -> ModeCheck:
    """Make the data directory 0700 and every directory and file in it 0700 / 0600; one warning line if any was not."""
    data_dir.mkdir(mode=DIRECTORY_MODE, parents=True, exist_ok=True)
    data_dir = data_dir.resolve()  # the data directory itself may be a link to another disk: that one is followed
    checked = fixed = unfixable = 0
    pending = [str(data_dir)]
    while pending:
        path = pending.pop()
        checked += 1
        outcome = _tighten(path, DIRECTORY_MODE, os.lstat(path).st_mode)
        fixed, unfixable = fixed + (outcome == 'fixed'), unfixable + (outcome == 'unfixable')
        try:
            entries = list(os.scandir(path))
        except OSError as error:
            log.warning('cannot look into %s: %s', path, error.strerror)
            continue
        for entry in entries:
            try:
                mode = entry.stat(follow_symlinks=False).st_mode
            except FileNotFoundError:  # removed while we looked (another process at work)
                continue
            if stat.S_ISDIR(mode):
                pending.append(entry.path)
            elif stat.S_ISREG(mode):
                checked += 1
                outcome = _tighten(entry.path, FILE_MODE, mode)
                fixed, unfixable = fixed + (outcome == 'fixed'), unfixable + (outcome == 'unfixable')
    if fixed or unfixable:
        log.warning(
            'data directory %s: %d of %d paths were open to other accounts; made them private (directories 0700, '
            'files 0600)%s',
            data_dir,
            fixed + unfixable,
            checked,
            f'; {unfixable} could not be changed (owned by another account)' if unfixable else '',
        )
    return ModeCheck(checked, fixed, unfixable)


def _tighten(path: str, wanted: int, mode: int) -> str:
    if stat.S_IMODE(mode) & ~wanted == 0:
        return 'ok'
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)  # never through a link swapped in meanwhile
    except FileNotFoundError:
        return 'ok'
    except OSError:  # not readable by us either (or now a link): the mode says what it is
        fd = -1
    try:
        if fd >= 0:
            os.fchmod(fd, wanted)
        elif not stat.S_ISLNK(os.lstat(path).st_mode):
            os.chmod(path, wanted)
    except PermissionError:
        return 'unfixable'
    except FileNotFoundError:
        return 'ok'
    finally:
        if fd >= 0:
            os.close(fd)
    return 'fixed'
