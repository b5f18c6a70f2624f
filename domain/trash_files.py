"""Files of trash items: moved (never copied) between their place in the data directory and trash/<item id>/.

A move is a hard link to the new name and an unlink of the old one, so it never replaces a file that is already
there, and doing it again after a crash finishes it (the new name exists, the old one goes). The data directory
is one file system (storage.place renames into it too); where hard links are not offered (some network shares) a
rename that first checks the target is used instead. Each directory touched is fsynced before the caller records
the move as done, as dicom/storage.py does for an arriving file.
"""

import contextlib
import logging
import os
import shutil
from collections.abc import Iterable
from pathlib import Path

from . import durable, keys
from .errors import Conflict

log = logging.getLogger(__name__)

TRASH = 'trash'
# NOTE: dicom/dicom_json.py `_cache_file` names the header cache of a stored image so (dicom/<x>.dcm →
# cache/dicom-json/<x>.json). The cache is made again when it is missing, so a deleted image's copy is removed
# with it rather than kept: it holds the patient's header data.
HEADER_CACHE = 'cache/dicom-json'


def data_dir() -> Path:
    """The data directory (domain.keys learns it from db.configure in every process)."""
    return keys.key_dir().parent.resolve()


def item_dir(item_id: int) -> Path:
    """Where one item's files wait, at their own relative paths."""
    return data_dir() / TRASH / str(item_id)


def move_in(item_id: int, relative_paths: Iterable[str]) -> int:
    """Move the files into the item's folder; files already there (an earlier attempt) are left; returns how many
    are in the trash now."""
    root, folder = data_dir(), item_dir(item_id)
    touched: set[Path] = set()
    kept = 0
    for relative in relative_paths:
        source, target = _inside(root, relative), _inside(folder, relative)
        if target.exists():  # moved by an earlier attempt; a file at the old place now is another one's
            if source.exists() and os.path.samefile(source, target):
                os.unlink(source)  # that attempt was cut short after the link
                touched.add(source.parent)
            kept += 1
        elif _move(source, target, touched):
            kept += 1
        else:
            log.warning('trash item %s: %s was not on disk', item_id, relative)
    _sync(touched)
    return kept


def move_out(item_id: int, targets: dict[str, str]) -> list[str]:
    """Move files from the item's folder to their targets ({original path: path to restore to}); returns the
    originals moved. Refuses (Conflict) when a target is taken by another file, after moving back what it moved."""
    root, folder = data_dir(), item_dir(item_id)
    touched: set[Path] = set()
    moved: list[str] = []
    try:
        for original, relative in targets.items():
            if _move(_inside(folder, original), _inside(root, relative), touched):
                moved.append(original)
    except FileExistsError:
        move_back(item_id, {original: targets[original] for original in moved})
        raise Conflict('A file of this item has been stored again meanwhile; restore it again') from None
    except BaseException:
        move_back(item_id, {original: targets[original] for original in moved})
        raise
    _sync(touched)
    return moved


def move_back(item_id: int, targets: dict[str, str]) -> None:
    """Undo move_out: files at their targets go back into the item's folder (a restore that did not finish)."""
    root, folder = data_dir(), item_dir(item_id)
    touched: set[Path] = set()
    for original, relative in targets.items():
        kept, target = _inside(folder, original), _inside(root, relative)
        if kept.exists():  # never moved out, or cut short after the link: only a second name of it may go
            if target.exists() and os.path.samefile(kept, target):
                os.unlink(target)
                touched.add(target.parent)
            continue
        _move(target, kept, touched)
    _sync(touched)


def drop_caches(relative_paths: Iterable[str]) -> None:
    """Remove what the server derived from these files and makes again on demand (the DICOM JSON of headers)."""
    root = data_dir()
    for relative in relative_paths:
        if relative.startswith('dicom/') and relative.endswith('.dcm'):
            stem = relative.removeprefix('dicom/').removesuffix('.dcm')
            with contextlib.suppress(ValueError):
                _inside(root, f'{HEADER_CACHE}/{stem}.json').unlink(missing_ok=True)


def free_target(item_id: int, relative: str) -> str:
    """Where a file can be restored: its own path, or beside it under a name of its own when that path is taken
    (a thumbnail or PDF named by an id SQLite gave again)."""
    path = _inside(data_dir(), relative)
    if not path.exists():
        return relative
    other = path.with_name(f'{path.stem}-restored-{item_id}{path.suffix}')
    return other.relative_to(data_dir()).as_posix()


def remove(item_id: int) -> None:
    """Delete the item's folder and everything in it (a purge)."""
    folder = item_dir(item_id)
    shutil.rmtree(folder, ignore_errors=True)
    with contextlib.suppress(FileNotFoundError):
        durable.fsync_directory(folder.parent)


def folders() -> list[int]:
    """The item ids that have a folder under trash/."""
    base = data_dir() / TRASH
    if not base.is_dir():
        return []
    return sorted(int(entry.name) for entry in base.iterdir() if entry.is_dir() and entry.name.isdigit())


def _move(source: Path, target: Path, touched: set[Path]) -> bool:
    """Move source to target without replacing anything; False when there is no source. A target that is the same
    file (a move cut short after the link) only loses the old name."""
    if not source.exists():
        return False
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        os.link(source, target)
    except FileExistsError:
        if not os.path.samefile(source, target):
            raise
    except OSError:  # no hard links on this file system
        if target.exists():
            raise FileExistsError(target) from None
        os.rename(source, target)
        touched.update((source.parent, target.parent))
        return True
    os.unlink(source)
    touched.update((source.parent, target.parent))
    return True


def _inside(base: Path, relative: str) -> Path:
    path = (base / relative).resolve()
    if base not in path.parents:
        raise ValueError(f'{relative} leaves {base}')
    return path


def _sync(folders: set[Path]) -> None:
    for folder in folders:
        with contextlib.suppress(FileNotFoundError):
            durable.fsync_directory(folder)
