"""The database: one engine per process, short transactions, Alembic for the schema.

Write transactions on SQLite start with BEGIN IMMEDIATE so concurrent writers queue up instead of
failing half-way (the audit hash chain relies on seeing the latest row); reads use plain BEGIN.
"""

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.pool import NullPool
from sqlmodel import Session, SQLModel

from .settings import Settings

log = logging.getLogger(__name__)

_engines: dict[str, Engine] = {}
MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / 'migrations'


def configure(settings: Settings, *, connect_args: dict[str, object] | None = None) -> None:
    """Create the engines for this process from the settings (and say where its keys live: domain.keys)."""
    from . import keys

    dispose()
    keys.configure(settings.data_dir)
    url = settings.sqlalchemy_url
    if url.startswith('sqlite'):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        _engines['write'] = _sqlite_engine(url, immediate=True)
        _engines['read'] = _sqlite_engine(url, immediate=False)
    else:
        engine = create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20, connect_args=connect_args or {})
        _engines['write'] = _engines['read'] = engine


def dispose() -> None:
    """Close every pooled connection (tests and shutdown)."""
    for engine in set(_engines.values()):
        engine.dispose()
    _engines.clear()


def configured() -> bool:
    """True while this process has a database to talk to."""
    return 'write' in _engines


def engine() -> Engine:
    """The engine for writes (and schema work)."""
    if 'write' not in _engines:
        raise RuntimeError('database not configured: call db.configure(settings) first')
    return _engines['write']


# This thread's open write transactions, and what waits for them to end (after_transactions).
_open = threading.local()


@contextmanager
def transaction() -> Iterator[Session]:
    """A session that commits on success and rolls back on any exception."""
    depth = getattr(_open, 'depth', 0)
    _open.depth = depth + 1
    try:
        with Session(engine(), expire_on_commit=False) as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise
            for callback in session.info.pop('after_commit', []):
                callback()
    finally:
        _open.depth = depth
        if depth == 0:
            for waiting in _open.__dict__.pop('after_end', []):
                waiting()


def after_transactions(callback: Callable[[], object]) -> None:
    """Run `callback` now, or once this thread's open transactions have ended, committed or rolled back: a write of
    its own (a refusal's audit event) must not wait for the write lock a transaction of this very thread holds
    (SQLite: 30 s, then "database is locked", and the event was lost). `callback` must not raise."""
    if getattr(_open, 'depth', 0) == 0:
        callback()
    else:
        _open.__dict__.setdefault('after_end', []).append(callback)


def after_commit(session: Session, callback: Callable[[], object]) -> None:
    """Run `callback` once this transaction has committed (events, queue triggers); dropped on rollback."""
    session.info.setdefault('after_commit', []).append(callback)


@contextmanager
def reading() -> Iterator[Session]:
    """A session for reads only; never commits."""
    if 'read' not in _engines:
        raise RuntimeError('database not configured: call db.configure(settings) first')
    with Session(_engines['read'], expire_on_commit=False) as session:
        yield session


def ping() -> bool:
    """True when the database answers."""
    try:
        with reading() as session:
            session.exec(text('SELECT 1'))  # type: ignore[call-overload]
    except Exception:
        log.warning('database ping failed', exc_info=True)
        return False
    return True


def upgrade() -> None:
    """Bring the schema to the newest Alembic revision."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option('script_location', str(MIGRATIONS_DIR))
    with engine().connect() as connection:
        sqlite = connection.dialect.name == 'sqlite'
        if sqlite:
            # Alembic rebuilds a changed SQLite table by copying it and dropping the original, which rows of other
            # tables still point at: foreign keys are off while migrating (a no-op inside a transaction, hence the
            # driver's connection before BEGIN) and checked, all at once, before the commit.
            _driver_execute(connection, 'PRAGMA foreign_keys=OFF')
        try:
            with connection.begin():
                config.attributes['connection'] = connection
                command.upgrade(config, 'head')
                if sqlite and (broken := connection.exec_driver_sql('PRAGMA foreign_key_check').fetchall()):
                    raise RuntimeError(f'the migration left rows pointing at nothing: {broken[:5]}')
        finally:
            if sqlite:
                _driver_execute(connection, 'PRAGMA foreign_keys=ON')


def _driver_execute(connection: Connection, statement: str) -> None:
    """Run a statement on the driver's connection, outside SQLAlchemy's automatic BEGIN."""
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(statement)
    finally:
        cursor.close()


def create_all() -> None:
    """Create every table directly from the models; for tests only (Alembic owns the schema)."""
    from . import centres, currencies, models  # noqa: F401 - registers the tables

    SQLModel.metadata.create_all(engine())
    centres.ensure_default()
    currencies.ensure_seeded()


def _sqlite_engine(url: str, *, immediate: bool) -> Engine:
    engine = create_engine(
        url, poolclass=NullPool if ':memory:' in url else None, connect_args={'check_same_thread': False, 'timeout': 30}
    )

    @event.listens_for(engine, 'connect')
    def _on_connect(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute('PRAGMA journal_mode=WAL')
        cursor.execute('PRAGMA synchronous=NORMAL')
        cursor.execute('PRAGMA foreign_keys=ON')
        cursor.execute('PRAGMA busy_timeout=30000')
        cursor.close()

    @event.listens_for(engine, 'begin')
    def _on_begin(connection) -> None:  # type: ignore[no-untyped-def]
        connection.exec_driver_sql('BEGIN IMMEDIATE' if immediate else 'BEGIN')

    return engine
