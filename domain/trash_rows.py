"""The index rows of a deleted study or series, found by following foreign keys, as JSON and back (domain.trash).

A study's rows are the study and every row that points at it, or at one of those, by a foreign key: series,
instances, measurements, key images, reports (addenda too), forwards. They are found from SQLModel.metadata, not
from a list of queries, so a column added to one of those tables travels with its row. A NEW table that points at
them must be named in CARRIED (tests/domain/test_trash.py fails until it is): the trash cannot guess whether its
rows belong to the study (they go with it) or only mention it (then the foreign key should not be there).

Rows are encoded as a backup dump is (domain.backup_snapshot: dates as ISO text), so they load on either engine.
"""

import json
import logging
from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import Table, select
from sqlmodel import Session, SQLModel

from . import backup_snapshot
from .errors import Conflict

log = logging.getLogger(__name__)

# Tables whose rows belong to a study or series and go to the trash with it (the root table itself is added).
CARRIED = frozenset({'series', 'instance', 'measurement', 'key_image', 'annotation', 'report', 'forward'})
# Columns naming a file relative to the data directory: the file goes to the trash with its row.
FILE_COLUMNS: dict[str, tuple[str, ...]] = {
    'instance': ('file_path',),
    'series': ('thumbnail_path',),
    'report': ('pdf_path',),
}
CHUNK = 500  # ids per IN (...) list: SQLite and PostgreSQL both take far more, a 10,000-image study needs 20

Rows = dict[str, list[dict[str, Any]]]


class UnknownDependant(RuntimeError):
    """A table the trash does not know points at a study, series or instance (a programming error)."""


def tables() -> dict[str, Table]:
    """Every table of the index by name."""
    return {table.name: table for table in SQLModel.metadata.sorted_tables}


def dependants(parent: str) -> list[tuple[Table, str]]:
    """(table, column) pairs whose foreign key points at `parent`'s rows."""
    found = []
    for table in SQLModel.metadata.sorted_tables:
        for column in table.c:
            if any(key.column.table.name == parent for key in column.foreign_keys):
                found.append((table, column.name))
    return found


def collect(session: Session, root: str, root_id: int) -> Rows:
    """The root row and every row depending on it by foreign key, per table, each list in id order."""
    every = tables()
    found: dict[str, dict[int, dict[str, Any]]] = {}
    first = session.execute(select(every[root]).where(every[root].c.id == root_id)).mappings().first()
    if first is None:
        return {}
    found[root] = {root_id: dict(first)}
    pending = [root]
    while pending:
        parent = pending.pop()
        parent_ids = sorted(found[parent])
        for table, column in dependants(parent):
            if table.name not in CARRIED and table.name != root:
                raise UnknownDependant(f'{table.name}.{column} points at {parent}: name it in domain.trash_rows')
            known = found.setdefault(table.name, {})
            grew = False
            for chunk in _chunks(parent_ids):
                for row in session.execute(select(table).where(table.c[column].in_(chunk))).mappings():
                    if row['id'] not in known:
                        known[row['id']], grew = dict(row), True
            if grew:
                pending.append(table.name)
    return {name: [rows[key] for key in sorted(rows)] for name, rows in found.items() if rows}


def delete(session: Session, rows: Rows) -> None:
    """Delete the collected rows, dependants first."""
    every = tables()
    for table in reversed(SQLModel.metadata.sorted_tables):
        ids = [row['id'] for row in rows.get(table.name, [])]
        # newest first within a table: an addendum (report.parent_id) goes before the report it adds to
        for chunk in _chunks(sorted(ids, reverse=True)):
            session.execute(every[table.name].delete().where(every[table.name].c.id.in_(chunk)))


def insert(session: Session, rows: Rows) -> dict[tuple[str, int], int]:
    """Insert rows back, parents first, with their own ids where those are free.

    An id taken meanwhile (SQLite gives the highest id again once its row is deleted) gets a new one, and the
    foreign keys of the rows inserted after it follow; returns {(table, old id): new id} for those.
    """
    moved: dict[tuple[str, int], int] = {}
    for table in SQLModel.metadata.sorted_tables:
        wanted = rows.get(table.name)
        if not wanted:
            continue
        keys = [(column.name, key.column.table.name) for column in table.c for key in column.foreign_keys]
        wanted = _outside_references(session, table, wanted, rows)
        ids = [row['id'] for row in wanted]
        taken: set[int] = set()
        for chunk in _chunks(ids):
            taken.update(session.execute(select(table.c.id).where(table.c.id.in_(chunk))).scalars())
        batch: list[dict[str, Any]] = []
        for original in wanted:
            row = dict(original)
            for column, target in keys:
                if row.get(column) is not None and (target, row[column]) in moved:
                    row[column] = moved[(target, row[column])]
            if row['id'] not in taken:
                batch.append(row)
                continue
            if batch:  # rows before it first: one of them may be its parent (report.parent_id)
                session.execute(table.insert(), batch)
                batch = []
            old = row.pop('id')
            result = session.execute(table.insert().values(**row).returning(table.c.id))
            moved[(table.name, old)] = int(result.scalar_one())
        if batch:
            session.execute(table.insert(), batch)
    if moved:
        log.info('restored %d row(s) under new ids (theirs were taken)', len(moved))
    return moved


def _outside_references(
    session: Session, table: Table, wanted: list[dict[str, Any]], rows: Rows
) -> list[dict[str, Any]]:
    """The rows with their references to rows outside the item checked: one that is gone meanwhile (a forwarding
    rule deleted, say) is emptied where the column may be empty, else the restore is refused."""
    wanted = [dict(row) for row in wanted]
    for column in table.c:
        for key in column.foreign_keys:
            own = {row['id'] for row in rows.get(key.column.table.name, [])}
            values = {row[column.name] for row in wanted if row.get(column.name) is not None} - own
            if not values:
                continue
            present: set[Any] = set()
            for chunk in _chunks(sorted(values)):
                present.update(session.execute(select(key.column).where(key.column.in_(chunk))).scalars())
            missing = values - present
            if not missing:
                continue
            if not column.nullable:
                raise Conflict(
                    'The item refers to {what} {id}, which is no longer on file; it cannot be restored',
                    what=key.column.table.name,
                    id=min(missing),
                )
            log.info('restoring %s: %s %s is gone, the reference is emptied', table.name, column.name, sorted(missing))
            for row in wanted:
                if row.get(column.name) in missing:
                    row[column.name] = None
    return wanted


def dumps(rows: Rows) -> str:
    """The rows as JSON text, encoded as a backup dump encodes them."""
    return json.dumps(rows, default=backup_snapshot.encode, separators=(',', ':'))


def loads(text: str) -> Rows:
    """Rows from `dumps` text, with dates and times decoded for their columns."""
    every = tables()
    decoded: Rows = {}
    for name, rows in json.loads(text).items():
        if name in every:
            decoded[name] = [backup_snapshot.decode(every[name], row) for row in rows]
    return decoded


def files(rows: Rows) -> list[str]:
    """The relative paths of every file the rows name (images, thumbnails, report PDFs), each once."""
    seen: dict[str, None] = {}
    for name, columns in FILE_COLUMNS.items():
        for row in rows.get(name, []):
            for column in columns:
                if row.get(column):
                    seen[row[column]] = None
    return list(seen)


def rename_files(rows: Rows, renamed: dict[str, str]) -> None:
    """Point the rows at the paths their files were restored to, where those differ."""
    if not renamed:
        return
    for name, columns in FILE_COLUMNS.items():
        for row in rows.get(name, []):
            for column in columns:
                if row.get(column) in renamed:
                    row[column] = renamed[row[column]]


def _chunks(ids: Sequence[int]) -> Iterator[list[int]]:
    for start in range(0, len(ids), CHUNK):
        yield list(ids[start : start + CHUNK])
