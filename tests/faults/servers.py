"""PostgreSQL and Redis servers a fault test owns: its own processes on free ports in a temporary folder, stopped
and started again by the test, removed at the end (never the shared servers on 5432 and 6379), and ClinicPACS's
scaled mode (`main.py scp` and `main.py worker`) running against them."""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from tests.conftest import ROOT, free_port, listening, wait_until

START_S = 60.0  # a server or process starting on a loaded 2-core machine


def _postgres_bin() -> Path | None:
    found = sorted(Path('/usr/lib/postgresql').glob('*/bin/initdb'), key=lambda p: int(p.parent.parent.name))
    return found[-1].parent if found else None


class Postgres:
    """A PostgreSQL cluster of its own: initdb into a temporary folder (as the postgres account when run as
    root, which initdb refuses), listening on 127.0.0.1 at a free port."""

    def __init__(self) -> None:
        bin_dir = _postgres_bin()
        if bin_dir is None:
            pytest.skip('PostgreSQL server binaries are not installed (apt-get install postgresql)')
        self.bin = bin_dir
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix='pacs-fault-pg-'))
        self.data = self.root / 'data'
        self.log = self.root / 'server.log'
        self._as_owner: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.root, 'postgres', 'postgres')
            self._as_owner = ['runuser', '-u', 'postgres', '--']
        self._run('initdb', '-D', str(self.data), '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8')

    def url(self, database: str = 'postgres') -> str:
        return f'postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}'

    def start(self) -> None:
        options = f'-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off'
        self._run('pg_ctl', '-D', str(self.data), '-l', str(self.log), '-o', options, '-w', '-t', '60', 'start')

    def stop(self) -> None:
        """Stop at once, as a crash or a pulled cable would (connections are cut, nothing waits)."""
        self._run('pg_ctl', '-D', str(self.data), '-m', 'immediate', '-w', '-t', '60', 'stop')

    def running(self) -> bool:
        return (self.data / 'postmaster.pid').exists() and listening(self.port)

    def create_database(self, name: str) -> str:
        admin = create_engine(self.url(), isolation_level='AUTOCOMMIT')
        try:
            with admin.connect() as connection:
                connection.execute(text(f'CREATE DATABASE {name}'))
        finally:
            admin.dispose()
        return self.url(name)

    def remove(self) -> None:
        if self.running():
            self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def _run(self, tool: str, *args: str) -> None:
        done = subprocess.run(
            [*self._as_owner, str(self.bin / tool), *args], capture_output=True, text=True, timeout=120, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f'{tool} failed: {done.stderr or done.stdout}\n{self._log_tail()}')

    def _log_tail(self) -> str:
        return self.log.read_text()[-2000:] if self.log.exists() else ''


class Redis:
    """A redis-server of its own without persistence: stopping it loses every queued message, as a restart of a
    Redis without a disk would."""

    def __init__(self, root: Path) -> None:
        self.binary = shutil.which('redis-server')
        if self.binary is None:
            pytest.skip('redis-server is not installed (apt-get install redis-server)')
        self.port = free_port()
        self.root = root
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f'redis://127.0.0.1:{self.port}/0'

    def start(self) -> None:
        self.process = subprocess.Popen(
            [str(self.binary), '--port', str(self.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
            cwd=self.root,
            stdout=(self.root / 'redis.log').open('a'),
            stderr=subprocess.STDOUT,
        )
        wait_until(lambda: listening(self.port), 'redis-server to listen', timeout=START_S)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=30)
            self.process = None


class Scaled:
    """ClinicPACS in the scaled mode against these servers: one `main.py scp` and one `main.py worker`."""

    def __init__(self, root: Path, database_url: str, redis_url: str, **env: str) -> None:
        self.root = root
        self.dicom_port = free_port()
        self.environment = {k: v for k, v in os.environ.items() if not k.startswith(('PACS_', 'PYTEST', 'NICEGUI'))}
        self.environment.update(
            PACS_DATA_DIR=str(root / 'data'),
            PACS_DATABASE_URL=database_url,
            PACS_REDIS_URL=redis_url,
            PACS_DICOM_PORT=str(self.dicom_port),
            PACS_ACCEPT_ANY_AE='true',
            **env,
        )
        self.processes: dict[str, subprocess.Popen] = {}

    def start(self) -> None:
        """The listener first (it migrates the database), then the worker."""
        self._start('scp')
        wait_until(lambda: self._alive('scp') and listening(self.dicom_port), 'the scp to listen', timeout=START_S)
        self._start('worker')
        wait_until(
            lambda: self._alive('worker') and 'scheduler started' in self.log('worker'),
            'the worker to start',
            timeout=START_S,
        )

    def log(self, name: str) -> str:
        return (self.root / f'{name}.log').read_text(errors='replace')

    def pause(self, name: str) -> None:
        """Freeze a process (SIGSTOP): it holds its connections and messages but does nothing."""
        self.processes[name].send_signal(signal.SIGSTOP)

    def resume(self, name: str) -> None:
        self.processes[name].send_signal(signal.SIGCONT)

    def stop(self) -> None:
        for process in self.processes.values():
            process.send_signal(signal.SIGCONT)
            process.terminate()
        for process in self.processes.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)

    def _start(self, name: str) -> None:
        self.processes[name] = subprocess.Popen(
            [sys.executable, 'main.py', name],
            cwd=ROOT,
            env=self.environment,
            stdout=(self.root / f'{name}.log').open('w'),
            stderr=subprocess.STDOUT,
        )

    def _alive(self, name: str) -> bool:
        process = self.processes[name]
        assert process.poll() is None, f'{name} exited:\n{self.log(name)[-3000:]}'
        return True


@pytest.fixture(scope='module')
def postgres_server() -> Iterator[Postgres]:
    """One cluster per module (initdb costs seconds); each test makes a database of its own in it."""
    server = Postgres()
    server.start()
    try:
        yield server
    finally:
        server.remove()


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[Redis]:
    server = Redis(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def engine_for(url: str) -> Engine:
    """The test's own look at the database (it may be stopped and started under it)."""
    return create_engine(url, pool_pre_ping=True)
