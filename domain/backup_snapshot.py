"""A backup's database part: one consistent snapshot of every table, written as portable JSON lines, and loaded back.

The lines do not depend on the database engine, so a dump made on SQLite loads into PostgreSQL and back. The
snapshot is consistent across tables: SQLite's online backup API copies the database into a private file first
(writers are not held up), PostgreSQL reads every table inside one REPEATABLE READ, READ ONLY transaction (one
snapshot for every statement; images arriving meanwhile commit and are simply not in it). So every counter (a
study's images, series and bytes) agrees with the rows it counts, and every row a row points at is in the dump.

Loading inserts parents before children; a row pointing at a row of its own table (a patient merged into one
registered later, an addendum) gets that pointer once every row is in. PostgreSQL's id sequences then continue
after the highest restored id, so the restored server's next image, patient or event gets a new id.
"""

import contextlib
import json
import logging
import os
import secrets
import sqlite3
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import (
    Column,
    Connection,
    Date,
    DateTime,
    Float,
    Integer,
    Numeric,
    Table,
    TypeDecorator,
    bindparam,
    create_engine,
    func,
    select,
    text,
)
from sqlalchemy.engine import make_url
from sqlmodel import SQLModel

from . import db, models  # models registers the tables

log = logging.getLogger(__name__)

BATCH = 1000
# Stored paths a backup must hold the file of (every indexed instance, thumbnail and report PDF).
REFERENCED = {
    models.Instance.__tablename__: 'file_path',
    models.Series.__tablename__: 'thumbnail_path',
    models.Report.__tablename__: 'pdf_path',
}
# Which processes run now, not the clinic's data: never archived, and a restore leaves the running ones' rows.
RUNTIME = {models.ProcessHeartbeat.__tablename__}


@dataclass
class Dump:
    """What one snapshot held: rows per table, the newest audit event and the stored files its rows name."""

    tables: dict[str, int] = field(default_factory=dict)
    newest_event: int = 0
    referenced: set[str] = field(default_factory=set)
    began_ns: int = 0  # wall clock just before the snapshot was taken: a file written later is newer than it

    @property
    def rows(self) -> int:
        return sum(self.tables.values())


def tables() -> list[Table]:
    """Every table a backup holds, parents before children."""
    return [table for table in SQLModel.metadata.sorted_tables if table.name not in RUNTIME]


def dump(out: BinaryIO, scratch: Path) -> Dump:
    """Write every row of one consistent snapshot to `out`, one JSON line each; `scratch` holds SQLite's copy."""
    found = Dump(began_ns=time.time_ns())
    with snapshot(scratch) as connection:
        for table in tables():
            found.tables[table.name] = 0
            wanted = REFERENCED.get(table.name)
            for row in rows(connection, table):
                out.write(json.dumps({'t': table.name, 'r': row}, default=encode).encode() + b'\n')
                found.tables[table.name] += 1
                if table.name == models.AuditEvent.__tablename__:
                    found.newest_event = max(found.newest_event, row['id'])
                if wanted and row.get(wanted):
                    found.referenced.add(row[wanted])
    return found


@contextlib.contextmanager
def snapshot(scratch: Path) -> Iterator[Connection]:
    """A connection that sees the whole database as of one moment, for reading only."""
    engine = db.engine()
    if engine.dialect.name == 'sqlite' and (source := make_url(str(engine.url)).database) not in (None, '', ':memory:'):
        copy = scratch / f'.snapshot-{secrets.token_hex(6)}.sqlite3'
        os.close(os.open(copy, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))  # private before it holds a row
        try:
            with contextlib.closing(sqlite3.connect(str(source), timeout=30)) as live:
                with contextlib.closing(sqlite3.connect(str(copy))) as target:
                    live.backup(target)  # the online backup API: one consistent copy, writers go on meanwhile
            copied = create_engine(f'sqlite:///{copy}')
            try:
                with copied.connect() as connection, connection.begin():
                    yield connection
            finally:
                copied.dispose()
        finally:
            for leftover in (copy, *(copy.with_name(copy.name + end) for end in ('-journal', '-wal', '-shm'))):
                with contextlib.suppress(FileNotFoundError):
                    leftover.unlink()
        return
    options: dict[str, Any] = {'isolation_level': 'REPEATABLE READ'} if engine.dialect.name == 'postgresql' else {}
    if engine.dialect.name == 'postgresql':
        options['postgresql_readonly'] = True
    with engine.connect().execution_options(**options) as connection, connection.begin():
        yield connection


def rows(connection: Connection, table: Table) -> Iterator[dict[str, Any]]:
    """The table's rows in primary-key order, streamed (a long audit trail is never held in memory whole)."""
    order = list(table.primary_key.columns)
    result = connection.execution_options(stream_results=True, yield_per=BATCH).execute(select(table).order_by(*order))
    for row in result.mappings():
        yield dict(row)


def counts(connection: Connection) -> dict[str, int]:
    """Rows per table (a drill compares them with the manifest)."""
    return {t.name: connection.execute(select(func.count()).select_from(t)).scalar() or 0 for t in tables()}


def holds_data(connection: Connection) -> bool:
    """True when any table has a row (the centre and the currencies an empty install starts with are not data)."""
    seeded = {models.Centre.__tablename__, models.Currency.__tablename__}
    return any(connection.execute(select(table).limit(1)).first() for table in tables() if table.name not in seeded)


def load(connection: Connection, lines: Iterable[bytes]) -> int:
    """Empty every table and insert the dumped rows (inside the caller's transaction); returns how many."""
    known = {table.name: table for table in tables()}
    pointing = {table: own_references(table) for table in known.values()}
    for table in reversed(tables()):
        connection.execute(table.delete())
    count, pending_table = 0, None
    pending: list[dict[str, Any]] = []
    pointers: dict[Table, list[dict[str, Any]]] = {}  # rows pointing at a row of their own table, set last
    for line in lines:
        record = json.loads(line)
        table = known.get(record['t'])
        if table is None:  # a table a later version dropped
            continue
        if pending_table is not None and table is not pending_table and pending:
            connection.execute(pending_table.insert(), pending)
            pending = []
        pending_table = table
        row = decode(table, record['r'])
        if own := [column.name for column in pointing[table] if row.get(column.name) is not None]:
            pointers.setdefault(table, []).append(dict(row))
            row.update(dict.fromkeys(own))
        pending.append(row)
        count += 1
        if len(pending) >= BATCH:
            connection.execute(table.insert(), pending)
            pending = []
    if pending and pending_table is not None:
        connection.execute(pending_table.insert(), pending)
    for table, rows_with_pointers in pointers.items():
        _set_own_references(connection, table, rows_with_pointers)
    if connection.dialect.name == 'postgresql':
        fix_sequences(connection)
    return count


def own_references(table: Table) -> list[Column[Any]]:
    """The table's columns that point at a row of the same table (a merged patient, an addendum's report)."""
    return [column for column in table.c if any(key.column.table is table for key in column.foreign_keys)]


def fix_sequences(connection: Connection) -> None:
    """PostgreSQL: every id sequence continues after the highest restored id (a table keyed by text has none)."""
    for table in tables():
        for column in table.primary_key.columns:
            if not isinstance(column.type, Integer) or column.autoincrement is False:
                continue
            sequence = connection.execute(
                text('SELECT pg_get_serial_sequence(:table, :column)'),
                {'table': f'"{table.name}"', 'column': column.name},
            ).scalar()
            if sequence:
                highest = connection.execute(select(func.max(column))).scalar()
                next_id = (highest or 0) + 1
                connection.execute(
                    text('SELECT setval(:sequence, :next, false)'), {'sequence': sequence, 'next': next_id}
                )


def encode(value: Any) -> Any:
    """A value JSON does not know, as text (dates and times; money as its exact decimal digits)."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f'cannot back up a {type(value).__name__}')


def decode(table: Table, row: dict[str, Any]) -> dict[str, Any]:
    """A dumped row as the table's column types want it (columns a later version dropped are left out)."""
    decoded: dict[str, Any] = {}
    for name, stored in row.items():
        if name not in table.c:
            continue
        column_type = table.c[name].type
        base = column_type.impl if isinstance(column_type, TypeDecorator) else column_type
        if stored is not None and isinstance(base, DateTime):
            decoded[name] = datetime.fromisoformat(stored)
        elif stored is not None and isinstance(base, Date):
            decoded[name] = date.fromisoformat(stored)
        elif stored is not None and isinstance(base, Numeric) and not isinstance(base, Float):
            decoded[name] = Decimal(str(stored))
        else:
            decoded[name] = stored
    return decoded


def _set_own_references(connection: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """Give rows their pointers into their own table, now that every row they may point at is in."""
    key = list(table.primary_key.columns)
    for column in own_references(table):
        wanted = [row for row in rows if row.get(column.name) is not None]
        if not wanted:
            continue
        statement = (
            table.update()
            .where(*(part == bindparam(f'key_{part.name}') for part in key))
            .values({column.name: bindparam('pointer')})
        )
        params = [
            {**{f'key_{part.name}': row[part.name] for part in key}, 'pointer': row[column.name]} for row in wanted
        ]
        connection.execute(statement, params)
