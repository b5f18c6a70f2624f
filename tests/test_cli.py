"""The console commands, run as a clinic's administrator would: a real process per call."""

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _run(data_dir: Path, *args: str, stdin: str | None = None, **env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith('PACS_')}
    environment.update({'PACS_DATA_DIR': str(data_dir), **env})
    return subprocess.run(
        [sys.executable, 'main.py', *args],
        cwd=ROOT,
        env=environment,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / 'data'


def test_users_are_added_listed_changed_and_disabled_from_the_console(data_dir: Path) -> None:
    added = _run(data_dir, 'user', 'add', 'maria', '--role', 'receptionist', '--password', 'maria password 1')
    assert added.returncode == 0, added.stderr
    assert 'added maria (receptionist)' in added.stdout
    from_stdin = _run(data_dir, 'user', 'add', 'ivan', '--role', 'technician', stdin='ivan password 22\n')
    assert from_stdin.returncode == 0, from_stdin.stderr
    assert _run(data_dir, 'user', 'passwd', 'maria', '--password', 'another password').returncode == 0
    assert _run(data_dir, 'user', 'disable', 'ivan').returncode == 0
    listing = _run(data_dir, 'user', 'list').stdout
    assert any(line.split()[:3] == ['maria', 'receptionist', 'active'] for line in listing.splitlines())
    assert any(line.split()[:3] == ['ivan', 'technician', 'disabled'] for line in listing.splitlines())


def test_a_refused_command_prints_one_line_and_exits_2(data_dir: Path) -> None:
    result = _run(data_dir, 'user', 'add', 'shorty', '--role', 'admin', '--password', 'short')
    assert result.returncode == 2
    assert result.stderr.strip().count('\n') == 0
    assert 'at least 10 characters' in result.stderr
    assert 'Traceback' not in result.stderr


def test_a_bad_variable_stops_any_command_with_its_name(data_dir: Path) -> None:
    result = _run(data_dir, 'user', 'list', PACS_HTTP_PORT='99999')
    assert result.returncode == 2
    assert result.stderr.startswith('clinicpacs: PACS_HTTP_PORT:')


def test_audit_verify_finds_a_changed_row(data_dir: Path) -> None:
    added = _run(data_dir, 'user', 'add', 'olga', '--role', 'radiologist', '--password', 'olga password 1')
    assert added.returncode == 0
    intact = _run(data_dir, 'audit', 'verify')
    assert intact.returncode == 0
    assert 'intact' in intact.stdout
    with sqlite3.connect(data_dir / 'clinicpacs.sqlite3') as connection:
        connection.execute("UPDATE audit_event SET role = 'admin' WHERE action = 'user.create'")
    broken = _run(data_dir, 'audit', 'verify')
    assert broken.returncode == 1
    assert 'broken at event 1' in broken.stdout


def test_migrate_creates_the_schema(data_dir: Path) -> None:
    result = _run(data_dir, 'migrate')
    assert result.returncode == 0, result.stderr
    with sqlite3.connect(data_dir / 'clinicpacs.sqlite3') as connection:
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {'user', 'patient', 'study', 'series', 'instance', 'report', 'audit_event', 'job'} <= tables


def test_a_backup_restores_into_a_new_data_directory(tmp_path: Path) -> None:
    first, second = tmp_path / 'first', tmp_path / 'second'
    assert _run(first, 'user', 'add', 'zoe', '--role', 'technician', '--password', 'zoe password 12').returncode == 0
    made = _run(first, 'backup', '--output', str(tmp_path / 'archives'))
    assert made.returncode == 0, made.stderr
    archive = next((tmp_path / 'archives').glob('clinicpacs-*.tar'))
    restored = _run(second, 'restore', str(archive))
    assert restored.returncode == 0, restored.stderr
    assert 'zoe' in _run(second, 'user', 'list').stdout
    assert _run(second, 'audit', 'verify').returncode == 0
    again = _run(second, 'restore', str(archive))
    assert again.returncode == 2
    assert 'already holds data' in again.stderr
